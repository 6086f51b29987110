"""The example web app of the Docker task.

A single Flask page that proves the container is running: the student
publishes port 5000, opens the page, and reads the flag from it.
"""

import signal
import sys

from flask import Flask

app = Flask(__name__)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Flask Docker</title>
</head>
<body>
  <h1>Flask Docker</h1>
  <p>If you can read this, the Flask app is answering from inside its container.</p>
  <p>Here is your flag: <code>THM{this_is_running_in_docker}</code></p>
</body>
</html>
"""


@app.route("/")
def index():
    return PAGE


if __name__ == "__main__":
    # Stop promptly on `docker stop` instead of being killed after a delay.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app.run(host="0.0.0.0", port=5000)
