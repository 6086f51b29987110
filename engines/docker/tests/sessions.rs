//! The Docker engine against the real dockerd: images, the Flask task
//! through the lab shell, port map, isolation, limits, cleanup, orphans.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::ContainerCreateBody;
use bollard::query_parameters::{CreateContainerOptions, ListContainersOptions};
use lab_docker::{
    CurlCommand, DockerCommand, DockerEngine, DockerProbe, ImageCatalog, ImageStage, build_images,
    sweep_orphans,
};
use lab_engine_api::{CheckSpec, LiveValueSpec, Probe, ShellCommand};

use common::{run, session};

const FLAG: &str = "THM{this_is_running_in_docker}";

/// Retries `curl` until the app answers (Flask needs a moment to start).
async fn curl_until_ok(curl: &CurlCommand, line: &str) -> common::Ran {
    for _ in 0..60 {
        let ran = run(curl, line).await;
        if ran.status == 0 {
            return ran;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    run(curl, line).await
}

#[tokio::test]
async fn second_image_build_is_a_no_op_by_label() {
    let Some(session) = session("images").await else {
        return;
    };
    let docker = session.engine().client().await.unwrap();
    let catalog = ImageCatalog::embedded();
    build_images(&docker, &catalog, |_| {}).await.unwrap();

    let stages = std::sync::Mutex::new(Vec::new());
    build_images(&docker, &catalog, |p| stages.lock().unwrap().push(p.stage))
        .await
        .unwrap();

    let stages = stages.into_inner().unwrap();
    assert_eq!(stages.len(), catalog.images().len());
    assert!(
        stages.iter().all(|s| *s == ImageStage::UpToDate),
        "{stages:?}"
    );
    let listed = lab_docker::list_images(&docker, &catalog).await.unwrap();
    assert!(
        listed
            .iter()
            .all(|i| matches!(i.state, lab_docker::images::ImageState::Ready { .. }))
    );
}

#[tokio::test]
async fn flask_task_completes_through_the_lab_shell() {
    let Some(session) = session("flask").await else {
        return;
    };
    let (docker, curl, probe) = (
        DockerCommand::new(session.clone()),
        CurlCommand::new(session.clone()),
        DockerProbe::new(session.clone()),
    );
    let running = CheckSpec::ContainerRunning {
        image: "cryillic/thm_example_app".into(),
        port: Some(5000),
    };
    let http = CheckSpec::Http {
        port: 5000,
        path: "/".into(),
        status: 200,
        contains: Some(FLAG.into()),
        matches: None,
    };

    let before = probe.check(&running).await.unwrap();
    assert!(!before.passed);
    assert_eq!(
        before.detail,
        "no running container from cryillic/thm_example_app yet"
    );
    assert!(!probe.check(&http).await.unwrap().passed);

    let ran = run(&docker, "run -p 5000:5000 -d cryillic/thm_example_app").await;
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    assert_eq!(
        ran.stdout.trim().len(),
        64,
        "prints the full container ID: {}",
        ran.stdout
    );

    let page = curl_until_ok(&curl, "localhost:5000").await;
    assert_eq!(page.status, 0, "{}", page.stderr);
    assert!(
        page.stdout.contains("<title>Flask Docker</title>"),
        "{}",
        page.stdout
    );
    assert!(page.stdout.contains(FLAG));

    let head = run(&curl, "-I localhost:5000").await;
    assert!(
        head.stdout.starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        head.stdout
    );
    assert!(!head.stdout.contains(FLAG), "HEAD has no body");
    let machine =
        std::collections::BTreeMap::from([("MACHINE_IP".to_owned(), "10.9.8.7".to_owned())]);
    let via_ip = common::run_with_env(&curl, "-s http://10.9.8.7:5000/", machine).await;
    assert!(
        via_ip.stdout.contains(FLAG),
        "MACHINE_IP resolves through the port map: {}",
        via_ip.stderr
    );
    let elsewhere = run(&curl, "example.org").await;
    assert_eq!(
        elsewhere.status, 6,
        "other hosts are not reached: {}",
        elsewhere.stderr
    );

    assert!(probe.check(&running).await.unwrap().passed);
    assert!(probe.check(&http).await.unwrap().passed);
    let names = probe
        .live_values(&LiveValueSpec::Docker {
            image: "cryillic/thm_example_app".into(),
            field: "name".into(),
        })
        .await
        .unwrap();
    assert_eq!(names.len(), 1);
    assert!(
        names[0].contains('_'),
        "a docker-style random name: {names:?}"
    );

    let ps = run(&docker, "ps").await;
    assert!(
        ps.stdout.contains("0.0.0.0:5000->5000/tcp"),
        "{}",
        ps.stdout
    );
    assert!(ps.stdout.contains(&names[0]));
    let addresses = session.published_addresses().await.unwrap();
    assert_eq!(addresses.len(), 1);
    assert_eq!(addresses[0].0, 5000);
    assert_ne!(
        addresses[0].1.port(),
        5000,
        "the real port comes from the port map"
    );
    assert!(
        !ps.stdout.contains("lab-"),
        "engine names never show: {}",
        ps.stdout
    );
    session.shutdown().await.unwrap();
}

#[tokio::test]
async fn two_sessions_publish_the_same_port_and_cannot_touch_each_other() {
    let (Some(a), Some(b)) = (session("iso-a").await, session("iso-b").await) else {
        return;
    };
    let (docker_a, docker_b) = (DockerCommand::new(a.clone()), DockerCommand::new(b.clone()));
    let curl_b = CurlCommand::new(b.clone());

    let ran = run(
        &docker_a,
        "run -d -p 5000:5000 --name web cryillic/thm_example_app",
    )
    .await;
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    let id_a = ran.stdout.trim().to_owned();
    let ran = run(
        &docker_b,
        "run -d -p 5000:5000 --name web cryillic/thm_example_app",
    )
    .await;
    assert_eq!(
        ran.status, 0,
        "no port clash between sessions: {}",
        ran.stderr
    );

    let a_port = lab_docker::curl::session_port(&a, 5000).await.unwrap();
    let b_port = lab_docker::curl::session_port(&b, 5000).await.unwrap();
    assert_ne!(a_port, b_port);

    let ps_b = run(&docker_b, "ps -a -q").await;
    assert_eq!(ps_b.stdout.lines().count(), 1);
    assert!(!ps_b.stdout.contains(&id_a[..12]));
    let stop = run(&docker_b, &format!("stop {}", &id_a[..12])).await;
    assert_eq!(stop.status, 1);
    assert_eq!(
        stop.stderr.trim(),
        format!(
            "Error response from daemon: No such container: {}",
            &id_a[..12]
        )
    );
    assert!(
        a.find("web").await.unwrap().is_running(),
        "A's container still runs"
    );

    let c = session("iso-c").await.unwrap();
    let curl_c = CurlCommand::new(c.clone());
    let refused = run(&curl_c, "localhost:5000").await;
    assert_eq!(
        refused.status, 7,
        "a session without containers reaches nothing: {}",
        refused.stdout
    );
    assert_eq!(curl_until_ok(&curl_b, "localhost:5000").await.status, 0);

    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test]
async fn limits_are_applied_and_host_options_refused() {
    let Some(session) = session("limits").await else {
        return;
    };
    let docker = DockerCommand::new(session.clone());
    for (line, word) in [
        (
            "run --privileged -d cryillic/thm_example_app",
            "--privileged",
        ),
        ("run -v /:/host -d cryillic/thm_example_app", "--volume"),
        (
            "run --network host -d cryillic/thm_example_app",
            "--network",
        ),
        (
            "run --cap-add SYS_ADMIN -d cryillic/thm_example_app",
            "--cap-add",
        ),
        ("run -it cryillic/thm_example_app", "interactive terminal"),
    ] {
        let ran = run(&docker, line).await;
        assert_eq!(ran.status, 125, "{line}");
        assert!(ran.stderr.contains(word), "{line}: {}", ran.stderr);
    }
    assert!(
        session.list(true).await.unwrap().is_empty(),
        "nothing was created"
    );

    let ran = run(&docker, "run -d --name limited hello-tryhackme").await;
    assert_eq!(ran.status, 0, "{}", ran.stderr);
    let host = session
        .inspect("limited")
        .await
        .unwrap()
        .host_config
        .unwrap();
    let ip = session.container_ip("limited").await.unwrap();
    assert!(
        ip.is_some_and(|ip| ip.is_ipv4()),
        "an address on the session network: {ip:?}"
    );
    let limits = session.limits();
    assert_eq!(host.pids_limit, Some(limits.pids));
    assert_eq!(host.memory, Some(limits.memory_bytes));
    assert_eq!(host.cpu_shares, Some(limits.cpu_shares));
    assert_ne!(host.privileged, Some(true));
    session.shutdown().await.unwrap();
}

#[tokio::test]
async fn shutdown_removes_everything_the_session_created() {
    let Some(session) = session("cleanup").await else {
        return;
    };
    let docker = DockerCommand::new(session.clone());
    assert_eq!(
        run(&docker, "run -d --name one hello-tryhackme")
            .await
            .status,
        0
    );
    assert_eq!(run(&docker, "run -d hello-tryhackme").await.status, 0);
    assert_eq!(run(&docker, "stop one").await.status, 0);

    let report = session.shutdown().await.unwrap();

    assert_eq!(report.containers, 2);
    assert_eq!(report.networks, 1);
    let client = session.engine().client().await.unwrap();
    let filters = HashMap::from([(
        "label".to_owned(),
        vec![format!("lab.session={}", session.id())],
    )]);
    let left = client
        .list_containers(Some(ListContainersOptions {
            all: true,
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .unwrap();
    assert!(left.is_empty());
}

#[tokio::test]
async fn orphans_of_a_gone_lab_process_are_swept_and_live_ones_kept() {
    let Some(live) = session("sweep-live").await else {
        return;
    };
    assert_eq!(
        run(
            &DockerCommand::new(live.clone()),
            "run -d --name keep hello-tryhackme"
        )
        .await
        .status,
        0
    );
    let client = live.engine().client().await.unwrap();
    let orphan_labels = HashMap::from([
        (
            "lab.session".to_owned(),
            format!("orphan-{}", std::process::id()),
        ),
        ("lab.owner-pid".to_owned(), "999999".to_owned()),
        ("lab.owner-start".to_owned(), "1".to_owned()),
        ("lab.boot-id".to_owned(), "gone".to_owned()),
    ]);
    let body = ContainerCreateBody {
        image: Some("hello-tryhackme:latest".into()),
        labels: Some(orphan_labels),
        ..Default::default()
    };
    let name = format!("lab-orphan-{}", std::process::id());
    let orphan = client
        .create_container(
            Some(CreateContainerOptions {
                name: Some(name),
                ..Default::default()
            }),
            body,
        )
        .await
        .unwrap();

    let unstamped_body = ContainerCreateBody {
        image: Some("hello-tryhackme:latest".into()),
        labels: Some(HashMap::from([(
            "lab.session".to_owned(),
            "made-by-another-tool".to_owned(),
        )])),
        ..Default::default()
    };
    let unstamped_name = format!("lab-unstamped-{}", std::process::id());
    let unstamped = client
        .create_container(
            Some(CreateContainerOptions {
                name: Some(unstamped_name),
                ..Default::default()
            }),
            unstamped_body,
        )
        .await
        .unwrap();

    let report = sweep_orphans(&DockerEngine::new()).await.unwrap();

    assert!(report.containers >= 1);
    let kept = client.inspect_container(&unstamped.id, None).await;
    let _ = client.remove_container(&unstamped.id, None).await;
    assert!(
        kept.is_ok(),
        "a container without an owner stamp is not judged"
    );
    assert!(
        client.inspect_container(&orphan.id, None).await.is_err(),
        "the orphan is gone"
    );
    assert!(
        live.find("keep").await.is_ok(),
        "a live session's container stays"
    );
    live.shutdown().await.unwrap();
}

#[tokio::test]
async fn unknown_images_are_not_available_offline() {
    let Some(session) = session("offline").await else {
        return;
    };
    let docker = DockerCommand::new(session.clone());
    let ran = run(&docker, "run -d nginx").await;
    assert_eq!(ran.status, 125);
    assert!(
        ran.stderr
            .starts_with("Unable to find image 'nginx:latest' locally\n"),
        "{}",
        ran.stderr
    );
    assert!(
        ran.stderr.contains("not available offline"),
        "{}",
        ran.stderr
    );
    let pull = run(&docker, "pull cryillic/thm_example_app").await;
    assert_eq!(pull.status, 0, "{}", pull.stderr);
    assert!(
        pull.stdout
            .contains("Image is up to date for cryillic/thm_example_app:latest"),
        "{}",
        pull.stdout
    );
    let pull = run(&docker, "pull nginx").await;
    assert_eq!(pull.status, 1);
    assert!(pull.stderr.contains("not available offline"));
}

#[tokio::test]
async fn container_lifecycle_through_the_lab_shell() {
    let Some(session) = session("lifecycle").await else {
        return;
    };
    let docker = DockerCommand::new(session.clone());
    let ran = run(
        &docker,
        "run -d -p 5000:5000 -e GREETING=hi --name web cryillic/thm_example_app",
    )
    .await;
    assert_eq!(ran.status, 0, "{}", ran.stderr);

    let exec = run(&docker, "exec web printenv GREETING").await;
    assert_eq!(
        (exec.status, exec.stdout.as_str()),
        (0, "hi\n"),
        "{}",
        exec.stderr
    );
    assert_eq!(
        run(&docker, "exec web false").await.status,
        1,
        "exec passes the exit status on"
    );

    let mut logs = run(&docker, "logs web").await;
    for _ in 0..40 {
        if logs.stderr.contains("Running on") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
        logs = run(&docker, "logs --tail 5 web").await;
    }
    assert!(
        logs.stderr.contains("Running on"),
        "Flask logs to stderr: {}{}",
        logs.stdout,
        logs.stderr
    );

    let rm = run(&docker, "rm web").await;
    assert_eq!(rm.status, 1);
    assert!(rm.stderr.contains("container is running"), "{}", rm.stderr);
    for line in ["stop web", "start web", "restart web"] {
        let ran = run(&docker, line).await;
        assert_eq!(
            (ran.status, ran.stdout.as_str()),
            (0, "web\n"),
            "{line}: {}",
            ran.stderr
        );
    }
    let inspect = run(&docker, "inspect web").await;
    let document: serde_json::Value = serde_json::from_str(&inspect.stdout).unwrap();
    assert_eq!(document[0]["Name"], "/web");
    assert_eq!(document[0]["State"]["Running"], true);

    assert_eq!(
        docker.complete(&["docker".into(), "st".into()], "we"),
        Vec::<String>::new()
    );
    assert_eq!(
        docker.complete(&["docker".into(), "stop".into()], "w"),
        vec!["web".to_owned()]
    );
    assert_eq!(
        docker.complete(&["docker".into()], "re"),
        vec!["restart".to_owned()]
    );
    assert!(
        docker
            .complete(&["docker".into(), "run".into()], "cry")
            .contains(&"cryillic/thm_example_app".to_owned())
    );

    let once = run(&docker, "run --rm hello-tryhackme python3 -c print(6*7)").await;
    assert_eq!(
        (once.status, once.stdout.as_str()),
        (0, "42\n"),
        "{}",
        once.stderr
    );

    assert_eq!(run(&docker, "stop web").await.status, 0);
    let taker = run(
        &docker,
        "run -d -p 5000:5000 --name taker cryillic/thm_example_app",
    )
    .await;
    assert_eq!(taker.status, 0, "{}", taker.stderr);
    let clash = run(&docker, "start web").await;
    assert_eq!(clash.status, 1);
    assert!(
        clash
            .stderr
            .contains("Bind for 0.0.0.0:5000 failed: port is already allocated"),
        "{}",
        clash.stderr
    );
    let again = run(&docker, "run -d -p 5000:5000 cryillic/thm_example_app").await;
    assert_eq!(again.status, 125);
    assert!(
        again.stderr.contains("port is already allocated"),
        "{}",
        again.stderr
    );
    assert_eq!(run(&docker, "rm -f taker").await.status, 0);

    let forced = run(&docker, "rm -f web").await;
    assert_eq!((forced.status, forced.stdout.as_str()), (0, "web\n"));
    assert!(
        session.list(true).await.unwrap().is_empty(),
        "--rm and rm -f left nothing"
    );
    session.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_session_removes_its_containers() {
    let Some(session) = session("dropped").await else {
        return;
    };
    let docker = DockerCommand::new(session.clone());
    assert_eq!(run(&docker, "run -d hello-tryhackme").await.status, 0);
    let id = session.id().to_owned();
    let client = session.engine().client().await.unwrap();
    drop(docker);
    drop(session);

    let filters = HashMap::from([("label".to_owned(), vec![format!("lab.session={id}")])]);
    let options = ListContainersOptions {
        all: true,
        filters: Some(filters),
        ..Default::default()
    };
    for _ in 0..80 {
        if client
            .list_containers(Some(options.clone()))
            .await
            .unwrap()
            .is_empty()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    panic!("the dropped session's container is still there after 20 s");
}
