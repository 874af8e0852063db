//! The control interface and the simulator's own behaviour: fault injection (500, 503, slow
//! answers, dropped connections, expired tokens), request counters, scenario loading and
//! reset, concurrency, the CA download and the stdin shutdown.

mod common;

use std::time::{Duration, Instant};

use common::{Sim, element};
use serde_json::Value;

#[test]
fn injected_status_delay_and_drop() {
    let sim = Sim::start();
    let token = sim.token();

    // 503 once on the VM list, with the proxy's HTML page; then normal again.
    let rule = sim.control_post(
        "/faults",
        r#"{"method": "GET", "path": "/ovirt-engine/api/vms*", "status": 503, "times": 1}"#,
    );
    assert_eq!(rule["id"], 1);
    let r = sim.get(&token, "/vms");
    assert_eq!(r.status(), 503);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(sim.get(&token, "/vms").status(), 200);
    // Other paths were never affected.
    assert_eq!(sim.get(&token, "/hosts").status(), 200);

    // 500 with the engine's XML fault, after letting one request through.
    sim.control_post(
        "/faults",
        r#"{"path": "/ovirt-engine/api/hosts", "status": 500, "skip": 1, "times": 1}"#,
    );
    assert_eq!(sim.get(&token, "/hosts").status(), 200);
    let r = sim.get(&token, "/hosts");
    assert_eq!(r.status(), 500);
    assert!(r.text().unwrap().contains("<fault>"));
    assert_eq!(sim.get(&token, "/hosts").status(), 200);

    // A slow answer.
    sim.control_post(
        "/faults",
        r#"{"path": "/ovirt-engine/api/clusters", "delay_ms": 400, "times": 1}"#,
    );
    let started = Instant::now();
    assert_eq!(sim.get(&token, "/clusters").status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(400));

    // A dropped connection: the client sees a transport error, not a response.
    sim.control_post(
        "/faults",
        r#"{"path": "/ovirt-engine/api", "drop": true, "times": 1}"#,
    );
    let err = sim
        .client
        .get(&sim.api)
        .bearer_auth(&token)
        .send()
        .expect_err("the connection should be dropped");
    assert!(!err.is_status(), "{err}");
    assert_eq!(sim.get(&token, "").status(), 200);

    // The rules with their counters; delete them.
    let faults = sim.control_get("/faults");
    assert_eq!(faults.as_array().unwrap().len(), 4);
    assert_eq!(faults[1]["matched"], 3);
    assert_eq!(faults[1]["fired"], 1);
    let r = sim
        .client
        .delete(format!("{}/faults", sim.control))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sim.control_get("/faults"), serde_json::json!([]));

    // Faults show in the request log.
    let log = sim.control_get("/requests");
    let entries = log["log"].as_array().unwrap();
    assert!(
        entries
            .iter()
            .any(|e| e["status"] == 503 && e["fault"] == 1)
    );
    assert!(entries.iter().any(|e| e["status"] == 0 && e["fault"] == 4));
}

#[test]
fn expired_tokens_get_401() {
    let (sim, _f) = Sim::with_scenario(
        "token_ttl_secs: 1\nclusters: [{name: c}]\nhosts: [{name: h, cluster: c}]\n",
    );
    let r = sim.token_response(common::USER, common::PASSWORD);
    let v: Value = r.json().unwrap();
    let exp: u64 = v["exp"].as_str().unwrap().parse().unwrap();
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    assert!(
        exp > now_ms && exp <= now_ms + 1500,
        "exp {exp} vs now {now_ms}"
    );
    let token = v["access_token"].as_str().unwrap().to_string();
    assert_eq!(sim.get(&token, "/vms").status(), 200);
    std::thread::sleep(Duration::from_millis(1100));
    let r = sim.get(&token, "/vms");
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"RESTAPI\"");

    // Expire-all from the control interface, and as a side effect of a fault rule.
    let sim = Sim::start();
    let token = sim.token();
    assert_eq!(sim.get(&token, "/vms").status(), 200);
    assert_eq!(sim.control_post("/tokens/expire", "")["expired"], 1);
    assert_eq!(sim.get(&token, "/vms").status(), 401);
    let token = sim.token();
    sim.control_post(
        "/faults",
        r#"{"path": "/ovirt-engine/api/hosts", "expire_tokens": true, "times": 1}"#,
    );
    assert_eq!(sim.get(&token, "/vms").status(), 200);
    assert_eq!(
        sim.get(&token, "/hosts").status(),
        401,
        "expired mid-command"
    );
    let token = sim.token();
    assert_eq!(sim.get(&token, "/hosts").status(), 200);
}

#[test]
fn requests_are_counted() {
    let (sim, _f) = Sim::with_scenario(
        "clusters: [{name: c}]\nhosts: [{name: h, cluster: c}]\n\
         vm_sets: [{count: 1000, name_prefix: vm, cluster: c, status: up, host: h}]\n",
    );
    let token = sim.token();
    let mut names = 0;
    for page in 1..=3 {
        let body = sim
            .get(&token, &format!("/vms?max=400&search=page+{page}"))
            .text()
            .unwrap();
        names += common::elements(&body, "name").len();
    }
    assert_eq!(names, 1000);
    let id = sim.vm_id("vm0001");
    assert_eq!(sim.get(&token, &format!("/vms/{id}")).status(), 200);
    // Control requests are not counted.
    let log = sim.control_get("/requests");
    assert_eq!(log["total"], 5);
    assert_eq!(log["counts"]["GET /ovirt-engine/api/vms"], 3);
    assert_eq!(log["counts"]["POST /ovirt-engine/sso/oauth/token"], 1);
    assert_eq!(log["routes"]["GET /ovirt-engine/api/vms/{id}"], 1);
    assert_eq!(log["log"][1]["query"], "max=400&search=page 1");

    let r = sim
        .client
        .delete(format!("{}/requests", sim.control))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(sim.control_get("/requests")["total"], 0);
}

#[test]
fn scenario_load_state_override_and_reset() {
    let sim = Sim::start();
    let token = sim.token();
    let r = sim
        .client
        .post(format!("{}/scenario", sim.control))
        .body(r#"{"clusters": [{"name": "x"}], "vms": [{"name": "a", "cluster": "nope"}]}"#)
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("unknown cluster nope"));

    let loaded = sim.control_post(
        "/scenario",
        r#"{"clusters": [{"name": "x"}], "hosts": [{"name": "hx", "cluster": "x"}],
            "vms": [{"name": "a", "cluster": "x", "status": "up", "host": "hx"}]}"#,
    );
    assert_eq!(loaded["vms"], 1);
    // Tokens survive a scenario load.
    let body = sim.get(&token, "/vms").text().unwrap();
    assert_eq!(common::elements(&body, "name"), vec!["a"]);

    // Forcing states: a VM that dies, a host that stops answering.
    let v = sim.control_post("/vms/a", r#"{"status": "not_responding"}"#);
    assert_eq!(v["status"], "not_responding");
    let body = sim
        .get(&token, &format!("/vms/{}", sim.vm_id("a")))
        .text()
        .unwrap();
    assert_eq!(element(&body, "status").as_deref(), Some("not_responding"));
    let h = sim.control_post("/hosts/hx", r#"{"status": "non_responsive", "spm": true}"#);
    assert_eq!(h["status"], "non_responsive");
    assert_eq!(h["spm"], "spm");

    // Reset: the start scenario, no tokens, no faults, an empty log.
    sim.control_post("/faults", r#"{"status": 500}"#);
    sim.control_post("/reset", "");
    assert_eq!(sim.get(&token, "/vms").status(), 401);
    let token = sim.token();
    let body = sim.get(&token, "/vms").text().unwrap();
    assert_eq!(common::elements(&body, "name").len(), 3);
    // The 401, the token and the list.
    assert_eq!(sim.control_get("/requests")["total"], 3);

    // Unknown control endpoints answer JSON 404.
    let r = sim
        .client
        .get(format!("{}/nope", sim.control))
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[test]
fn concurrent_connections_and_slow_requests() {
    let sim = Sim::start();
    let token = sim.token();
    // One request hangs for 1.5 s; others on their own connections are not held up.
    sim.control_post(
        "/faults",
        r#"{"path": "/ovirt-engine/api/datacenters", "delay_ms": 1500, "times": 1}"#,
    );
    std::thread::scope(|s| {
        let slow = s.spawn(|| {
            let started = Instant::now();
            assert_eq!(sim.get(&token, "/datacenters").status(), 200);
            started.elapsed()
        });
        std::thread::sleep(Duration::from_millis(100));
        let workers: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let client = common::client_for(
                        &std::fs::read(sim.ready["ca_file"].as_str().unwrap()).unwrap(),
                    );
                    let started = Instant::now();
                    for _ in 0..10 {
                        let r = client
                            .get(format!("{}/vms", sim.api))
                            .bearer_auth(&token)
                            .send()
                            .unwrap();
                        assert_eq!(r.status(), 200);
                    }
                    started.elapsed()
                })
            })
            .collect();
        for w in workers {
            let took = w.join().unwrap();
            assert!(took < Duration::from_millis(1400), "a worker took {took:?}");
        }
        assert!(slow.join().unwrap() >= Duration::from_millis(1500));
    });
    assert_eq!(
        sim.control_get("/requests")["counts"]["GET /ovirt-engine/api/vms"],
        80
    );
}

#[test]
fn ca_download_over_plain_http_and_stdin_shutdown() {
    let mut sim = Sim::start();
    let ca = std::fs::read_to_string(sim.ready["ca_file"].as_str().unwrap()).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
    let http = sim.ready["http_url"].as_str().unwrap().to_string();
    let url = format!(
        "{http}/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA"
    );
    let plain = common::client_for(ca.as_bytes());
    let r = plain.get(&url).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().unwrap(), ca);
    // Nothing else is served over plain HTTP.
    assert_eq!(
        plain
            .get(format!("{http}/ovirt-engine/api"))
            .send()
            .unwrap()
            .status(),
        404
    );
    // The same over HTTPS.
    let r = sim.client.get(url.replace(&http, &sim.url)).send().unwrap();
    assert_eq!(r.text().unwrap(), ca);

    // A client that does not trust the CA is refused.
    let other = Sim::start();
    let other_ca = std::fs::read(other.ready["ca_file"].as_str().unwrap()).unwrap();
    let stranger = common::client_for(&other_ca);
    assert!(stranger.get(&sim.api).send().is_err());

    let ca_dir = std::path::Path::new(sim.ready["ca_file"].as_str().unwrap())
        .parent()
        .unwrap()
        .to_path_buf();
    let status = sim
        .close_stdin_and_wait(Duration::from_secs(5))
        .expect("the simulator stops when stdin closes");
    assert!(status.success());
    assert!(!ca_dir.exists(), "the temporary CA directory is removed");
}
