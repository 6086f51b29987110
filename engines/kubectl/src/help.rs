//! Help texts in kubectl's layout: a description, examples, options, usage.

/// The subcommands, with one-line descriptions, as `kubectl --help` groups
/// them.
pub const SUBCOMMANDS: &[(&str, &str)] = &[
    ("create", "Create a resource from a file or from stdin"),
    (
        "expose",
        "Take a deployment and expose it as a new Kubernetes service",
    ),
    ("get", "Display one or many resources"),
    ("explain", "Get documentation for a resource"),
    (
        "delete",
        "Delete resources by file names, resource and names, or by label selector",
    ),
    ("rollout", "Manage the rollout of a resource"),
    ("scale", "Set a new size for a deployment"),
    ("set", "Set specific features on objects (set image)"),
    ("cluster-info", "Display cluster information"),
    (
        "describe",
        "Show details of a specific resource or group of resources",
    ),
    ("logs", "Print the logs for a container in a pod"),
    ("apply", "Apply a configuration to a resource by file name"),
    (
        "api-resources",
        "Print the supported API resources on the server",
    ),
    ("config", "View the kubeconfig (config view)"),
    ("version", "Print the client and server version information"),
    (
        "exec",
        "Not available in the lab shell (explains what to use instead)",
    ),
    (
        "port-forward",
        "Not available in the lab shell (explains what to use instead)",
    ),
    (
        "edit",
        "Not available in the lab shell (explains what to use instead)",
    ),
];

/// The text of `kubectl [TOPIC] --help`.
pub fn text(topic: &[String]) -> String {
    let first = topic.first().map(String::as_str).unwrap_or("");
    match first {
        "get" => GET.to_string(),
        "describe" => DESCRIBE.to_string(),
        "logs" => LOGS.to_string(),
        "delete" => DELETE.to_string(),
        "scale" => SCALE.to_string(),
        "create" => CREATE.to_string(),
        "expose" => EXPOSE.to_string(),
        "apply" => APPLY.to_string(),
        "set" => SET.to_string(),
        "rollout" => ROLLOUT.to_string(),
        "" => overview(),
        other => match SUBCOMMANDS.iter().find(|(name, _)| *name == other) {
            Some((name, summary)) => format!("{summary}.\n\nUsage:\n  kubectl {name} [options]\n"),
            None => overview(),
        },
    }
}

fn overview() -> String {
    let mut text = String::from(
        "kubectl controls the Kubernetes cluster of this lab session.\n\n\
         Commands:\n",
    );
    for (name, summary) in SUBCOMMANDS {
        text.push_str(&format!("  {name:<15}{summary}\n"));
    }
    text.push_str(
        "\nOptions (every command):\n  -n, --namespace='': the namespace to work in\n\n\
         Usage:\n  kubectl [flags] [options]\n\n\
         Use \"kubectl <command> --help\" for more information about a given command.\n",
    );
    text
}

const GET: &str = "Display one or many resources.\n\n\
 Prints a table of the most important information about the named resources. Several kinds\n\
 may be listed at once, separated by commas; 'all' lists pods, services, deployments and\n\
 replica sets.\n\n\
Examples:\n\
  # List all pods in the current namespace\n\
  kubectl get pods\n\n\
  # List pods with more columns (IP, node)\n\
  kubectl get pods -o wide\n\n\
  # List deployments and services together\n\
  kubectl get deploy,svc\n\n\
  # List pods in every namespace, with their labels\n\
  kubectl get pods -A --show-labels\n\n\
  # Print the replica count of one deployment\n\
  kubectl get deployment web -o jsonpath='{.spec.replicas}'\n\n\
Options:\n\
    -A, --all-namespaces=false: List the requested objects across all namespaces.\n\
    -l, --selector='': Selector (label query) to filter on, e.g. -l app=web.\n\
    -o, --output='': Output format: json, yaml, name, wide, jsonpath=TEMPLATE.\n\
    --show-labels=false: Show all labels as the last column.\n\
    -n, --namespace='': The namespace to list in.\n\n\
Usage:\n  kubectl get [(-o|--output=)json|yaml|name|wide|jsonpath=...] (TYPE[.VERSION][.GROUP] [NAME | -l label] | TYPE[.VERSION][.GROUP]/NAME ...) [flags] [options]\n";

const DESCRIBE: &str = "Show details of a specific resource.\n\n\
 Prints a detailed description of the selected resources, including related events.\n\n\
Examples:\n\
  # Describe a pod\n\
  kubectl describe pod web-5d8f7c9b6-abcde\n\n\
  # Describe a deployment\n\
  kubectl describe deployment/web\n\n\
Usage:\n  kubectl describe (TYPE [NAME | -l label] | TYPE/NAME) [options]\n";

const LOGS: &str = "Print the logs for a container in a pod.\n\n\
Examples:\n\
  # The last 20 lines of a pod's log\n\
  kubectl logs web-5d8f7c9b6-abcde --tail=20\n\n\
  # Follow the log of the first pod of a deployment (Ctrl-C stops)\n\
  kubectl logs -f deployment/web\n\n\
Options:\n\
    -c, --container='': Print the logs of this container.\n\
    -f, --follow=false: Keep streaming new lines.\n\
    --tail=-1: Lines of recent log to show; -1 shows all.\n\n\
Usage:\n  kubectl logs [-f] POD | TYPE/NAME [-c CONTAINER] [options]\n";

const DELETE: &str = "Delete resources by resource and names, or by label selector.\n\n\
Examples:\n\
  # Delete a deployment (its replica sets and pods go with it)\n\
  kubectl delete deployment web\n\n\
  # Delete the pods labelled app=web\n\
  kubectl delete pods -l app=web\n\n\
Usage:\n  kubectl delete (TYPE [(NAME | -l label)] | TYPE/NAME) [options]\n";

const SCALE: &str = "Set a new size for a deployment.\n\n\
Examples:\n\
  # Run three replicas of web\n\
  kubectl scale deployment web --replicas=3\n\n\
Usage:\n  kubectl scale --replicas=COUNT (TYPE NAME | TYPE/NAME) [options]\n";

const CREATE: &str = "Create a resource.\n\n\
Examples:\n\
  # Create a deployment running nginx-like image web:1\n\
  kubectl create deployment web --image=web:1\n\n\
  # Create a namespace\n\
  kubectl create namespace team-a\n\n\
Available Commands:\n  deployment    Create a deployment with the specified name\n  namespace     Create a namespace with the specified name\n\n\
Usage:\n  kubectl create deployment NAME --image=image [--replicas=1] [--port=port] [options]\n";

const EXPOSE: &str = "Expose a deployment as a new Kubernetes service.\n\n\
Examples:\n\
  # A ClusterIP service on port 80 for deployment web\n\
  kubectl expose deployment web --port=80\n\n\
  # A NodePort service, reachable on every node\n\
  kubectl expose deployment web --port=8080 --type=NodePort\n\n\
Usage:\n  kubectl expose (TYPE NAME | TYPE/NAME) [--port=port] [--target-port=port] [--type=type] [--name=name] [options]\n";

const APPLY: &str = "Apply a configuration to a resource by file name.\n\n\
 Creates each object of the file that does not exist yet and updates those that do.\n\n\
Examples:\n\
  # Apply the objects of web.yaml\n\
  kubectl apply -f web.yaml\n\n\
Usage:\n  kubectl apply -f FILENAME [options]\n";

const SET: &str = "Set specific features on objects.\n\n\
Examples:\n\
  # Change the image of container web of deployment web\n\
  kubectl set image deployment/web web=web:2\n\n\
Usage:\n  kubectl set image (TYPE NAME | TYPE/NAME) CONTAINER_NAME_1=CONTAINER_IMAGE_1 ... [options]\n";

const ROLLOUT: &str = "Manage the rollout of a deployment.\n\n\
Examples:\n\
  # Wait until the rollout of web has finished\n\
  kubectl rollout status deployment/web\n\n\
  # Show the revisions of web, and go back to the previous one\n\
  kubectl rollout history deployment/web\n\
  kubectl rollout undo deployment/web\n\n\
  # Restart the pods of web\n\
  kubectl rollout restart deployment/web\n\n\
Available Commands:\n  history       View rollout history\n  restart       Restart a resource\n  status        Show the status of the rollout\n  undo          Undo a previous rollout\n\n\
Usage:\n  kubectl rollout SUBCOMMAND [options]\n";
