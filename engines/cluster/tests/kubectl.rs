//! The real `kubectl` against the embedded cluster: what it prints, not only
//! whether it exits 0. Tests that run pods need the Docker engine and say so
//! when it is missing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{TestCluster, docker_available, ensure_test_image, web_manifest};

/// Sends a bare HTTP request to the node port and returns what came back.
async fn http_get_with_retries(port: u16) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut last = String::new();
    for _ in 0..50 {
        if let Ok(mut stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            let _ = stream.write_all(b"GET / HTTP/1.0\r\n\r\n").await;
            let mut answer = Vec::new();
            let _ = stream.read_to_end(&mut answer).await;
            last = String::from_utf8_lossy(&answer).into_owned();
            if !last.is_empty() {
                return last;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    last
}

fn rows(table: &str) -> Vec<Vec<&str>> {
    table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().collect())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fresh_cluster_looks_like_minikube() {
    let cluster = TestCluster::start().await;

    let nodes = cluster.ok(&["get", "nodes"]).await;
    assert!(
        nodes.starts_with("NAME       STATUS   ROLES           AGE   VERSION"),
        "{nodes}"
    );
    assert_eq!(rows(&nodes)[0][..3], ["minikube", "Ready", "control-plane"]);

    let pods = cluster.ok(&["get", "pods", "-A"]).await;
    let names: Vec<&str> = rows(&pods).iter().map(|r| r[1]).collect();
    assert_eq!(names.len(), 7, "{pods}");
    for expected in [
        "etcd-minikube",
        "kube-apiserver-minikube",
        "kube-controller-manager-minikube",
        "kube-scheduler-minikube",
        "storage-provisioner",
    ] {
        assert!(names.contains(&expected), "{expected} missing from\n{pods}");
    }
    assert!(names.iter().any(|n| n.starts_with("coredns-")));
    assert!(names.iter().any(|n| n.starts_with("kube-proxy-")));
    assert!(
        rows(&pods)
            .iter()
            .all(|r| r[0] == "kube-system" && r[2] == "1/1" && r[3] == "Running"),
        "{pods}"
    );

    let default_pods = cluster.kubectl(&["get", "pods"]).await;
    assert_eq!(
        default_pods.stderr.trim(),
        "No resources found in default namespace."
    );

    let services = cluster.ok(&["get", "svc"]).await;
    assert_eq!(
        rows(&services)[0][..5],
        ["kubernetes", "ClusterIP", "10.96.0.1", "<none>", "443/TCP"]
    );

    let resources = cluster.ok(&["api-resources"]).await;
    assert!(
        resources
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["deployments", "deploy", "apps/v1", "true", "Deployment"]),
        "{resources}"
    );
    assert!(
        resources
            .lines()
            .any(|l| l.starts_with("pods ") && l.contains(" po ")),
        "{resources}"
    );

    let namespaces = cluster.ok(&["get", "ns"]).await;
    assert_eq!(rows(&namespaces).len(), 4, "{namespaces}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_reads_the_served_schemas() {
    let cluster = TestCluster::start().await;
    let pod = cluster.ok(&["explain", "pod"]).await;
    assert!(
        pod.contains("KIND:       Pod") && pod.contains("VERSION:    v1"),
        "{pod}"
    );
    assert!(pod.contains("spec\t<PodSpec>"), "{pod}");
    let image = cluster
        .ok(&["explain", "deployment.spec.template.spec.containers.image"])
        .await;
    assert!(image.contains("FIELD: image <string>"), "{image}");
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_api_server_errors() {
    let cluster = TestCluster::start().await;

    let missing = cluster.kubectl(&["get", "pod", "nope"]).await;
    assert!(!missing.success);
    assert_eq!(
        missing.stderr.trim(),
        "Error from server (NotFound): pods \"nope\" not found"
    );

    let unknown = cluster.kubectl(&["get", "widgets"]).await;
    assert!(
        unknown
            .stderr
            .contains("the server doesn't have a resource type \"widgets\""),
        "{unknown:?}"
    );

    let bad = cluster.manifest(
        "bad.json",
        "{\"apiVersion\": \"v1\", \"kind\": \"ConfigMap\", \"metadata\": ",
    );
    let malformed = cluster
        .kubectl(&[
            "create",
            "--raw",
            "/api/v1/namespaces/default/configmaps",
            "-f",
            &bad,
        ])
        .await;
    assert!(
        malformed.stderr.contains("BadRequest") || malformed.stderr.contains("couldn't decode"),
        "{malformed:?}"
    );

    let cm = cluster.manifest(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: dev\n",
    );
    cluster.ok(&["create", "-f", &cm]).await;
    let duplicate = cluster.kubectl(&["create", "-f", &cm]).await;
    assert_eq!(
        duplicate.stderr.trim(),
        "Error from server (AlreadyExists): error when creating \"".to_string()
            + &cm
            + "\": configmaps \"settings\" already exists"
    );

    let stale = cluster.ok(&["get", "cm", "settings", "-o", "json"]).await;
    cluster
        .ok(&[
            "patch",
            "cm",
            "settings",
            "-p",
            "{\"data\":{\"mode\":\"prod\"}}",
        ])
        .await;
    let stale_path = cluster.manifest("stale.json", &stale.replace("\"dev\"", "\"test\""));
    let conflict = cluster.kubectl(&["replace", "-f", &stale_path]).await;
    assert!(
        conflict.stderr.contains("Error from server (Conflict)")
            && conflict.stderr.contains("the object has been modified"),
        "{conflict:?}"
    );

    let invalid = cluster.manifest(
        "pod.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: empty\nspec:\n  containers: []\n",
    );
    let refused = cluster.kubectl(&["create", "-f", &invalid]).await;
    assert!(
        refused.stderr.contains("is invalid")
            && refused.stderr.contains("spec.containers: Required value"),
        "{refused:?}"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_configures_and_prints_like_kubectl_does() {
    let cluster = TestCluster::start().await;
    let path = cluster.manifest("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: dev\n  level: \"1\"\n");
    assert_eq!(
        cluster.ok(&["apply", "-f", &path]).await.trim(),
        "configmap/settings created"
    );
    let path = cluster.manifest(
        "cm.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: prod\n",
    );
    assert_eq!(
        cluster.ok(&["apply", "-f", &path]).await.trim(),
        "configmap/settings configured"
    );
    let data = cluster
        .ok(&["get", "cm", "settings", "-o", "jsonpath={.data}"])
        .await;
    assert_eq!(
        data, "{\"mode\":\"prod\"}",
        "apply must remove keys dropped from the manifest"
    );
    assert_eq!(
        cluster.ok(&["apply", "-f", &path]).await.trim(),
        "configmap/settings unchanged"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deployment_lifecycle_with_docker_pods() {
    if !docker_available().await || !ensure_test_image().await {
        return;
    }
    let cluster = TestCluster::start().await;
    let manifest = cluster.manifest("web.yaml", &web_manifest("web", 1));
    let applied = cluster.ok(&["apply", "-f", &manifest]).await;
    assert_eq!(
        applied.trim(),
        "deployment.apps/web created\nservice/web created"
    );

    let status = cluster
        .ok(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await;
    assert!(
        status.contains("deployment \"web\" successfully rolled out"),
        "{status}"
    );

    let deployments = cluster.ok(&["get", "deployments"]).await;
    assert!(
        deployments.starts_with("NAME   READY   UP-TO-DATE   AVAILABLE   AGE"),
        "{deployments}"
    );
    assert_eq!(rows(&deployments)[0][..4], ["web", "1/1", "1", "1"]);

    let sets = cluster.ok(&["get", "rs"]).await;
    let rs_name = rows(&sets)[0][0].to_string();
    assert!(rs_name.starts_with("web-") && rs_name.len() > 5, "{sets}");

    let pods = cluster.ok(&["get", "pods", "-o", "wide"]).await;
    assert!(pods.starts_with("NAME"), "{pods}");
    let pod = rows(&pods)[0].clone();
    assert!(
        pod[0].starts_with(&format!("{rs_name}-")) && pod[0].len() == rs_name.len() + 6,
        "{pods}"
    );
    assert_eq!(pod[1..4], ["1/1", "Running", "0"]);
    assert_eq!(pod[6], "minikube");
    let pod_name = pod[0].to_string();

    let services = cluster.ok(&["get", "svc", "web"]).await;
    let port = rows(&services)[0][4].to_string();
    assert!(
        port.starts_with("8080:3") && port.ends_with("/TCP"),
        "{services}"
    );
    let endpoints = cluster.ok(&["get", "endpoints", "web"]).await;
    assert!(rows(&endpoints)[0][1].ends_with(":8080"), "{endpoints}");

    let node_port: u16 = port["8080:".len()..port.len() - "/TCP".len()]
        .parse()
        .unwrap();
    let answer = http_get_with_retries(node_port).await;
    assert!(
        answer.starts_with("HTTP/1."),
        "node port {node_port} answered {answer:?}"
    );

    let logs = cluster.ok(&["logs", &pod_name]).await;
    assert!(logs.contains("hello from web"), "{logs}");
    let logs = cluster.ok(&["logs", "deployment/web"]).await;
    assert!(logs.contains("hello from web"), "{logs}");

    let describe = cluster.ok(&["describe", "pod", &pod_name]).await;
    assert!(
        describe.contains(&format!("Controlled By:  ReplicaSet/{rs_name}")),
        "{describe}"
    );
    assert!(
        describe.contains("Successfully assigned default/"),
        "{describe}"
    );
    assert!(describe.contains("Started container web"), "{describe}");
    let describe = cluster.ok(&["describe", "deployment", "web"]).await;
    assert!(
        describe.contains(
            "Replicas:               1 desired | 1 updated | 1 total | 1 available | 0 unavailable"
        ),
        "{describe}"
    );
    assert!(
        describe.contains(&format!(
            "NewReplicaSet:   {rs_name} (1/1 replicas created)"
        )),
        "{describe}"
    );

    let all = cluster.ok(&["get", "all"]).await;
    for expected in [
        "pod/web-",
        "service/web",
        "deployment.apps/web",
        "replicaset.apps/web-",
    ] {
        assert!(all.contains(expected), "{expected} missing from\n{all}");
    }

    cluster
        .ok(&["scale", "deployment/web", "--replicas=3"])
        .await;
    cluster
        .wait_for(&["get", "pods", "--no-headers"], |out| {
            out.lines()
                .filter(|l| l.contains("1/1") && l.contains("Running"))
                .count()
                == 3
        })
        .await;

    let deleted = cluster.ok(&["delete", "pod", &pod_name]).await;
    assert_eq!(deleted.trim(), format!("pod \"{pod_name}\" deleted"));
    let after = cluster
        .wait_for(&["get", "pods", "--no-headers"], |out| {
            out.lines()
                .filter(|l| l.contains("1/1") && l.contains("Running"))
                .count()
                == 3
        })
        .await;
    assert!(
        !after.contains(&pod_name),
        "the deleted pod must be gone:\n{after}"
    );

    cluster
        .ok(&["set", "image", "deployment/web", "web=not-built-here:9"])
        .await;
    let pulling = cluster
        .wait_for(&["get", "pods", "--no-headers"], |out| {
            out.contains("ErrImagePull") || out.contains("ImagePullBackOff")
        })
        .await;
    let bad_pod = pulling
        .lines()
        .find(|l| l.contains("Image"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let describe = cluster.ok(&["describe", "pod", &bad_pod]).await;
    assert!(describe.contains("not available offline"), "{describe}");
    let history = cluster.ok(&["rollout", "history", "deployment/web"]).await;
    assert!(
        history.contains("\n1 ") && history.contains("\n2 "),
        "{history}"
    );

    cluster.ok(&["rollout", "undo", "deployment/web"]).await;
    let status = cluster
        .ok(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await;
    assert!(status.contains("successfully rolled out"), "{status}");
    let image = cluster
        .ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].image}",
        ])
        .await;
    assert_eq!(image, common::TEST_IMAGE);
    let revision = cluster
        .ok(&[
            "get",
            "deployment",
            "web",
            "-o",
            "jsonpath={.metadata.annotations.deployment\\.kubernetes\\.io/revision}",
        ])
        .await;
    assert_eq!(revision, "3");
    cluster
        .wait_for(&["get", "pods", "--no-headers"], |out| {
            out.lines().count() == 3
                && out
                    .lines()
                    .all(|l| l.contains("1/1") && l.contains("Running"))
        })
        .await;

    cluster.ok(&["delete", "deployment", "web"]).await;
    cluster
        .wait_for(&["get", "pods,rs", "--no-headers"], |out| {
            out.trim().is_empty()
        })
        .await;
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crashing_container_shows_crash_loop_back_off() {
    if !docker_available().await || !ensure_test_image().await {
        return;
    }
    let cluster = TestCluster::start().await;
    let pod = format!(
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: crasher\nspec:\n  containers:\n  - name: main\n    image: {}\n    command: [\"sh\", \"-c\", \"echo about to fail; exit 3\"]\n",
        common::TEST_IMAGE
    );
    let path = cluster.manifest("crasher.yaml", &pod);
    cluster.ok(&["apply", "-f", &path]).await;
    let listed = cluster
        .wait_for(&["get", "pod", "crasher", "--no-headers"], |out| {
            out.contains("CrashLoopBackOff")
        })
        .await;
    let row: Vec<&str> = listed.split_whitespace().collect();
    assert_eq!(row[1], "0/1");
    assert!(row[3].parse::<u32>().is_ok_and(|n| n >= 1), "{listed}");
    let logs = cluster.ok(&["logs", "crasher"]).await;
    assert!(logs.contains("about to fail"), "{logs}");
    let describe = cluster.ok(&["describe", "pod", "crasher"]).await;
    assert!(
        describe.contains("Exit Code:    3")
            && describe.contains("Back-off restarting failed container"),
        "{describe}"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_sees_a_new_pod() {
    let cluster = TestCluster::start().await;
    let mut watch = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(&cluster.kubeconfig)
        .args(["get", "pods", "-w", "--request-timeout=0"])
        .env("HOME", cluster.dir.path())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(700)).await;
    // An image the lab cannot get: the pod exists without Docker's help.
    let pod = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: watched\nspec:\n  containers:\n  - name: main\n    image: nowhere/none:1\n";
    let path = cluster.manifest("watched.yaml", pod);
    cluster.ok(&["create", "-f", &path]).await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    watch.start_kill().unwrap();
    let output = watch.wait_with_output().await.unwrap();
    let seen = String::from_utf8_lossy(&output.stdout);
    assert!(
        seen.lines().any(|l| l.starts_with("watched ")),
        "watch output:\n{seen}"
    );
    cluster.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imperative_create_commands_send_protobuf_and_work() {
    let cluster = TestCluster::start().await;
    assert_eq!(
        cluster.ok(&["create", "namespace", "lessons"]).await.trim(),
        "namespace/lessons created"
    );
    let namespaces = cluster.ok(&["get", "ns", "lessons"]).await;
    assert_eq!(rows(&namespaces)[0][..2], ["lessons", "Active"]);

    cluster
        .ok(&[
            "create",
            "configmap",
            "c1",
            "--from-literal=mode=dev",
            "-n",
            "lessons",
        ])
        .await;
    let data = cluster
        .ok(&[
            "get",
            "cm",
            "c1",
            "-n",
            "lessons",
            "-o",
            "jsonpath={.data.mode}",
        ])
        .await;
    assert_eq!(data, "dev");

    cluster
        .ok(&[
            "create",
            "secret",
            "generic",
            "s1",
            "--from-literal=user=admin",
        ])
        .await;
    let secret = cluster.ok(&["get", "secret", "s1"]).await;
    assert_eq!(rows(&secret)[0][..3], ["s1", "Opaque", "1"]);
    let encoded = cluster
        .ok(&["get", "secret", "s1", "-o", "jsonpath={.data.user}"])
        .await;
    assert_eq!(encoded, "YWRtaW4=");

    let created = cluster
        .ok(&[
            "create",
            "deployment",
            "web",
            "--image=nowhere/web:1",
            "--replicas=2",
            "--port=80",
        ])
        .await;
    assert_eq!(created.trim(), "deployment.apps/web created");
    let exposed = cluster
        .ok(&[
            "expose",
            "deployment",
            "web",
            "--port=80",
            "--type=NodePort",
        ])
        .await;
    assert_eq!(exposed.trim(), "service/web exposed");
    let deployment = cluster.ok(&["get", "deploy", "web", "-o", "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].ports[0].containerPort}"]).await;
    assert_eq!(deployment, "2 nowhere/web:1 80");
    let service = cluster.ok(&["get", "svc", "web"]).await;
    assert_eq!(rows(&service)[0][1], "NodePort");
    assert!(rows(&service)[0][4].starts_with("80:3"), "{service}");
    cluster.stop().await;
}
