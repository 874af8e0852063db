//! The engine API as clients see it, over HTTPS against the real binary: SSO, the entry point,
//! VM lists with search and paging, actions that change state over time, the engine's 409s,
//! payloads, hosts and the SPM.

mod common;

use std::time::{Duration, Instant};

use common::{PASSWORD, Sim, USER, element, elements};
use serde_json::Value;

const TWO_SITES: &str = include_str!("../scenarios/two-sites.yaml");

#[test]
fn sso_token_entry_point_and_logout() {
    let sim = Sim::start();

    // Success: access_token, scope, exp (a string of epoch ms), token_type.
    let r = sim.token_response(USER, PASSWORD);
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    let v: Value = r.json().unwrap();
    assert_eq!(v["token_type"], "bearer");
    assert_eq!(v["scope"], "ovirt-app-api");
    assert_eq!(v["exp"], "9223372036854775807", "no ttl: Long.MAX_VALUE");
    let token = v["access_token"].as_str().unwrap().to_string();

    // Wrong password: 400 with the engine's JSON error.
    let r = sim.token_response(USER, "wrong");
    assert_eq!(r.status(), 400);
    let v: Value = r.json().unwrap();
    assert_eq!(v["error"], "access_denied");
    assert_eq!(
        v["error_description"],
        "Cannot authenticate user 'admin@internal': The username or password is incorrect.."
    );

    // Accept must be exactly application/json.
    let r = sim
        .client
        .post(format!("{}/ovirt-engine/sso/oauth/token", sim.url))
        .header("Accept", "application/json, text/plain")
        .body("grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=secret")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().unwrap()["error"], "invalid_request");

    // The entry point.
    let r = sim.get(&token, "");
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/xml");
    let body = r.text().unwrap();
    assert!(body.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>"));
    assert!(body.contains("<api>"));
    assert!(body.contains(r#"<link href="/ovirt-engine/api/vms" rel="vms"/>"#));
    assert!(
        body.contains(r#"<link href="/ovirt-engine/api/vms?search={query}" rel="vms/search"/>"#)
    );
    assert!(body.contains("<product_info>"));

    // No or a bad token: 401 with an HTML body and the Basic realm.
    let r = sim.client.get(&sim.api).send().unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["www-authenticate"], "Basic realm=\"RESTAPI\"");
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(sim.get("nope", "/vms").status(), 401);

    // Basic auth still works.
    let r = sim
        .client
        .get(format!("{}/vms", sim.api))
        .basic_auth(USER, Some(PASSWORD))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    // Version: only 4, from the header or the URL; /v4 URLs put /v4 in every href.
    let r = sim
        .client
        .get(format!("{}/vms", sim.api))
        .bearer_auth(&token)
        .header("Version", "3")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);
    let body = sim.get(&token, "/v4/vms").text().unwrap();
    assert!(
        body.contains(r#"href="/ovirt-engine/api/v4/vms/"#),
        "{body}"
    );

    // Logout as the SDK does it: {} back, and the token is gone.
    let r = sim
        .client
        .post(format!("{}/ovirt-engine/services/sso-logout", sim.url))
        .header("Accept", "application/json")
        .body(format!("scope=ovirt-app-api&token={token}"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().unwrap(), serde_json::json!({}));
    assert_eq!(sim.get(&token, "/vms").status(), 401);
}

#[test]
fn vm_list_search_max_and_page() {
    let (sim, _f) = Sim::with_scenario(
        "clusters: [{name: c1}, {name: c2}]\n\
         hosts: [{name: h1, cluster: c1, spm: true}]\n\
         vms: [{name: Alpha, cluster: c2, status: down}]\n\
         vm_sets:\n  - {count: 25, name_prefix: bulk-, cluster: c1, status: up, host: h1}\n",
    );
    let token = sim.token();
    let names = |path: &str| -> Vec<String> {
        let r = sim.get(&token, path);
        assert_eq!(r.status(), 200, "{path}");
        let body = r.text().unwrap();
        assert!(body.contains("<vms>") || body.contains("<vms/>") || body.contains("</vms>"));
        elements(&body, "name")
    };
    assert_eq!(names("/vms").len(), 26, "no max: everything");
    // The SDK's encoding: parameters sorted, quote_plus.
    let page2 = names("/vms?case_sensitive=false&max=10&search=name%3Dbulk-*+page+2");
    assert_eq!(
        page2,
        (11..=20)
            .map(|i| format!("bulk-{i:02}"))
            .collect::<Vec<_>>()
    );
    assert_eq!(names("/vms?max=10&search=name%3Dbulk-*+page+3").len(), 5);
    assert_eq!(names("/vms?max=3").len(), 3);
    assert_eq!(names("/vms?max=-1").len(), 26);
    // Case-insensitive by default; case_sensitive=true is exact.
    assert_eq!(names("/vms?search=name%3DALPHA"), vec!["Alpha"]);
    assert!(names("/vms?search=name%3DALPHA&case_sensitive=true").is_empty());
    // Status, cluster, or, sortby.
    assert_eq!(names("/vms?search=status%3Ddown"), vec!["Alpha"]);
    assert_eq!(names("/vms?search=cluster%3Dc2").len(), 1);
    assert_eq!(
        names("/vms?search=name%3Dbulk-01+or+name%3DAlpha+sortby+name+desc"),
        vec!["bulk-01", "Alpha"]
    );
    assert_eq!(names("/vms?search=host%3Dh1+and+status%3Dup").len(), 25);

    // A bad search is a 400 fault.
    let r = sim.get(&token, "/vms?search=colour%3Dblue");
    assert_eq!(r.status(), 400);
    assert!(r.text().unwrap().contains("<fault>"));

    // A missing VM is 404 with no body; a malformed id is 400 "Operation failed".
    let r = sim.get(&token, "/vms/00000000-0000-0000-0000-000000000001");
    assert_eq!(r.status(), 404);
    assert!(r.text().unwrap().is_empty());
    let r = sim.get(&token, "/vms/not-an-id");
    assert_eq!(r.status(), 400);
    let body = r.text().unwrap();
    assert_eq!(
        element(&body, "reason").as_deref(),
        Some("Operation failed")
    );

    // Hosts and clusters.
    let body = sim
        .get(&token, "/hosts?search=cluster%3Dc1")
        .text()
        .unwrap();
    assert_eq!(elements(&body, "name"), vec!["h1"]);
    assert!(body.contains("<spm>"));
    assert!(body.contains("<status>spm</status>"));
    let body = sim.get(&token, "/clusters").text().unwrap();
    assert_eq!(elements(&body, "name"), vec!["c1", "c2"]);
}

#[test]
fn start_and_shutdown_change_status_over_time() {
    let (sim, _f) = Sim::with_scenario(
        "delays_ms: {wait_for_launch: 500, powering_up: 700, powering_down: 500}\n\
         clusters: [{name: c1}]\n\
         hosts: [{name: h1, cluster: c1, spm: true}]\n\
         vms: [{name: db1, cluster: c1, status: down}]\n",
    );
    let token = sim.token();
    let id = sim.vm_id("db1");

    // Checked by the REST layer itself: a bare <fault>.
    let r = sim.post(
        &token,
        &format!("/vms/{id}/start"),
        "<action><use_cloud_init>true</use_cloud_init><use_sysprep>true</use_sysprep></action>",
    );
    assert_eq!(r.status(), 409);
    let body = r.text().unwrap();
    assert!(
        body.contains("<fault>") && !body.contains("<action>"),
        "{body}"
    );

    let started = Instant::now();
    let r = sim.post(
        &token,
        &format!("/vms/{id}/start"),
        "<action>\n  <async>false</async>\n</action>",
    );
    assert_eq!(r.status(), 200);
    let body = r.text().unwrap();
    // The request echoed back, complete, with the VM reference.
    assert!(body.contains("<async>false</async>"), "{body}");
    assert_eq!(element(&body, "status").as_deref(), Some("complete"));
    assert!(body.contains(&format!(
        r#"<vm href="/ovirt-engine/api/vms/{id}" id="{id}"/>"#
    )));

    let seen = sim.wait_vm_status(&token, &id, "up", Duration::from_secs(10));
    let took = started.elapsed();
    assert_eq!(seen, vec!["wait_for_launch", "powering_up", "up"]);
    assert!(took >= Duration::from_millis(1200), "up after {took:?}");
    let body = sim.get(&token, &format!("/vms/{id}")).text().unwrap();
    assert!(body.contains("<host href="), "a running VM shows its host");
    assert!(body.contains("<start_time>"));

    // Starting again: the engine's 409 from the action matrix.
    let r = sim.post(&token, &format!("/vms/{id}/start"), "<action/>");
    assert_eq!(r.status(), 409);
    let body = r.text().unwrap();
    assert_eq!(element(&body, "status").as_deref(), Some("failed"));
    assert_eq!(
        element(&body, "reason").as_deref(),
        Some("Operation Failed")
    );
    assert_eq!(
        element(&body, "detail").as_deref(),
        Some("[Cannot run VM because the VM is in Up status.]")
    );

    let r = sim.post(&token, &format!("/vms/{id}/shutdown"), "<action/>");
    assert_eq!(r.status(), 200);
    let seen = sim.wait_vm_status(&token, &id, "down", Duration::from_secs(10));
    assert_eq!(seen, vec!["powering_down", "down"]);
    let body = sim.get(&token, &format!("/vms/{id}")).text().unwrap();
    assert!(!body.contains("<host href="), "a down VM shows no host");

    let r = sim.post(&token, &format!("/vms/{id}/stop"), "<action/>");
    assert_eq!(r.status(), 409);
    assert_eq!(
        element(&r.text().unwrap(), "detail").as_deref(),
        Some("[Cannot stop VM. VM is not running.]")
    );

    // A body that is not an action.
    let r = sim.post(&token, &format!("/vms/{id}/start"), "<vm><oops>");
    assert_eq!(r.status(), 400);
    assert_eq!(
        element(&r.text().unwrap(), "reason").as_deref(),
        Some("Request syntactically incorrect.")
    );

    // The control interface recorded the actions.
    let state = sim.control_get("/vms/db1");
    let verbs: Vec<&str> = state["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["verb"].as_str().unwrap())
        .collect();
    assert_eq!(
        verbs,
        vec!["start", "start", "start", "shutdown", "stop", "start"]
    );
}

fn migrate(sim: &Sim, token: &str, vm: &str, body: &str) -> (u16, String) {
    let r = sim.post(token, &format!("/vms/{}/migrate", sim.vm_id(vm)), body);
    (r.status().as_u16(), r.text().unwrap())
}

#[test]
fn migrate_allowed_and_refused_with_the_engines_reasons() {
    let (sim, _f) = Sim::with_scenario(TWO_SITES);
    let token = sim.token();
    let (a1, a2, b1, b2) = (
        sim.host_id("a1"),
        sim.host_id("a2"),
        sim.host_id("b1"),
        sim.host_id("b2"),
    );
    let detail = |(code, body): (u16, String)| (code, element(&body, "detail").unwrap_or_default());

    assert_eq!(
        detail(migrate(
            &sim,
            &token,
            "pinned",
            &format!(r#"<action><host id="{a2}"/></action>"#)
        )),
        (409, "[Cannot migrate VM. VM is pinned to Host.]".into())
    );
    // pinned even with force
    assert_eq!(
        detail(migrate(
            &sim,
            &token,
            "pinned",
            &format!(r#"<action><force>true</force><host id="{a2}"/></action>"#)
        ))
        .0,
        409
    );
    assert_eq!(
        detail(migrate(&sim, &token, "keepme", &format!(r#"<action><host id="{a1}"/></action>"#))),
        (
            409,
            "[Cannot migrate VM. VM is non migratable and user did not specify the force-migration flag]"
                .into()
        )
    );
    assert_eq!(
        detail(migrate(&sim, &token, "app1", "<action/>")),
        (409, "[Cannot migrate VM. VM is not running.]".into())
    );
    // Destination not up (b2 is non_responsive).
    assert_eq!(
        detail(migrate(
            &sim,
            &token,
            "app2",
            &format!(r#"<action><host id="{b2}"/></action>"#)
        )),
        (
            409,
            "[Cannot migrate VM. Operation can be performed only when Host status is Up.]".into()
        )
    );
    // Cross-site: a host of another cluster is outside the scheduler's candidates.
    assert_eq!(
        detail(migrate(&sim, &token, "app2", &format!(r#"<action><host id="{b1}"/></action>"#))),
        (
            400,
            "[There are no hosts to use. Check that the cluster contains at least one host in Up state.]"
                .into()
        )
    );
    assert_eq!(
        detail(migrate(
            &sim,
            &token,
            "app2",
            r#"<action><host id="00000000-0000-0000-0000-00000000dead"/></action>"#
        )),
        (400, "[Cannot migrate VM. Invalid Host Id.]".into())
    );

    // Allowed: user_migratable with force, by host name too; migrating, then up on a1.
    let (code, body) = migrate(
        &sim,
        &token,
        "keepme",
        "<action>\n  <force>true</force>\n  <host>\n    <name>a1</name>\n  </host>\n</action>",
    );
    assert_eq!(code, 200, "{body}");
    let id = sim.vm_id("keepme");
    let seen = sim.wait_vm_status(&token, &id, "up", Duration::from_secs(10));
    assert_eq!(seen, vec!["migrating", "up"]);
    assert_eq!(sim.control_get("/vms/keepme")["host"], "a1");
    // Already there: nowhere to go.
    assert_eq!(
        migrate(
            &sim,
            &token,
            "keepme",
            &format!(r#"<action><force>true</force><host id="{a1}"/></action>"#)
        )
        .0,
        400
    );
    // Migrating twice.
    assert_eq!(migrate(&sim, &token, "app2", "<action/>").0, 200);
    assert_eq!(
        detail(migrate(&sim, &token, "app2", "<action/>")),
        (
            409,
            "[Cannot migrate VM. VM migration is in progress]".into()
        )
    );
    let r = sim.post(
        &token,
        &format!("/vms/{}/cancelmigration", sim.vm_id("app2")),
        "<action/>",
    );
    assert_eq!(r.status(), 200);
    assert_eq!(sim.control_get("/vms/app2")["status"], "up");
    assert_eq!(sim.control_get("/vms/app2")["host"], "a1");
}

#[test]
fn payload_update_is_recorded_and_shown() {
    let sim = Sim::start();
    let token = sim.token();
    let id = sim.vm_id("db1");
    let body = "<vm><payloads><payload><files><file><content>IPADDR=10.1.2.3\nGATEWAY=10.1.2.1</content><name>dr.conf</name></file></files><type>cdrom</type></payload></payloads></vm>";
    let r = sim.put(&token, &format!("/vms/{id}"), body);
    assert_eq!(r.status(), 200);
    let text = r.text().unwrap();
    assert!(
        text.contains("<payloads>") && text.contains("<name>dr.conf</name>"),
        "{text}"
    );

    // GET /vms/{id} always shows payloads; the list only with all_content.
    assert!(
        sim.get(&token, &format!("/vms/{id}"))
            .text()
            .unwrap()
            .contains("<payloads>")
    );
    assert!(
        !sim.get(&token, "/vms")
            .text()
            .unwrap()
            .contains("<payloads>")
    );
    assert!(
        sim.get(&token, "/vms?all_content=true")
            .text()
            .unwrap()
            .contains("<payloads>")
    );

    let state = sim.control_get("/vms/db1");
    assert_eq!(state["last_payload"][0]["type"], "cdrom");
    assert_eq!(state["last_payload"][0]["files"][0]["name"], "dr.conf");
    assert_eq!(
        state["last_payload"][0]["files"][0]["content"],
        "IPADDR=10.1.2.3\nGATEWAY=10.1.2.1"
    );

    // An empty <payloads/> clears; a bad type is refused.
    assert_eq!(
        sim.put(&token, &format!("/vms/{id}"), "<vm><payloads/></vm>")
            .status(),
        200
    );
    let state = sim.control_get("/vms/db1");
    assert_eq!(state["payloads"], serde_json::json!([]));
    assert_eq!(state["payload_history"].as_array().unwrap().len(), 2);
    let r = sim.put(
        &token,
        &format!("/vms/{id}"),
        "<vm><payloads><payload><type>usb</type></payload></payloads></vm>",
    );
    assert_eq!(r.status(), 400);
    // Each file is limited to PayloadSize characters (8192 by default).
    let big = format!(
        "<vm><payloads><payload><files><file><content>{}</content><name>big</name></file></files><type>cdrom</type></payload></payloads></vm>",
        "x".repeat(8193)
    );
    let r = sim.put(&token, &format!("/vms/{id}"), &big);
    assert_eq!(r.status(), 400);
    assert_eq!(
        element(&r.text().unwrap(), "detail").as_deref(),
        Some("[Payload is limited to 16K]")
    );
}

#[test]
fn every_status_value_is_served() {
    let statuses = [
        "unassigned",
        "down",
        "up",
        "powering_up",
        "paused",
        "migrating",
        "unknown",
        "not_responding",
        "wait_for_launch",
        "reboot_in_progress",
        "saving_state",
        "restoring_state",
        "suspended",
        "image_locked",
        "powering_down",
    ];
    let host_statuses = [
        "down",
        "error",
        "initializing",
        "installing",
        "install_failed",
        "maintenance",
        "non_operational",
        "non_responsive",
        "pending_approval",
        "preparing_for_maintenance",
        "connecting",
        "reboot",
        "unassigned",
        "up",
        "installing_os",
        "kdumping",
    ];
    let mut yaml =
        String::from("clusters: [{name: c}]\nhosts:\n  - {name: run, cluster: c, spm: true}\n");
    for s in host_statuses {
        yaml.push_str(&format!("  - {{name: h-{s}, cluster: c, status: {s}}}\n"));
    }
    yaml.push_str("vms:\n");
    for s in statuses {
        yaml.push_str(&format!(
            "  - {{name: vm-{s}, cluster: c, status: {s}, host: run}}\n"
        ));
    }
    let (sim, _f) = Sim::with_scenario(&yaml);
    let token = sim.token();
    for s in statuses {
        let body = sim
            .get(&token, &format!("/vms?search=name%3Dvm-{s}"))
            .text()
            .unwrap();
        assert_eq!(element(&body, "status").as_deref(), Some(s));
    }
    let body = sim.get(&token, "/hosts?search=name%3Dh-*").text().unwrap();
    let mut got: Vec<String> = elements(&body, "status")
        .into_iter()
        .filter(|s| !["none", "spm", "contending"].contains(&s.as_str()))
        .collect();
    got.sort();
    let mut want: Vec<String> = host_statuses.iter().map(|s| s.to_string()).collect();
    want.sort();
    assert_eq!(got, want);
}

#[test]
fn spm_moves_when_the_remote_site_goes_to_maintenance() {
    let (sim, _f) = Sim::with_scenario(TWO_SITES);
    let token = sim.token();
    let b1 = sim.host_id("b1");
    let a1 = sim.host_id("a1");
    let body = sim.get(&token, &format!("/hosts/{b1}")).text().unwrap();
    assert!(body.contains("<spm>\n        <priority>5</priority>\n        <status>spm</status>"));

    // Deactivating the SPM host: preparing_for_maintenance, then maintenance; the role goes
    // to the up host with the highest priority (a1: 5, a2: 3) after the election delay.
    let r = sim.post(&token, &format!("/hosts/{b1}/deactivate"), "<action/>");
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    // b1 runs bulk VMs: they are migrated... to nowhere (b2 is non_responsive), so b1 stays
    // in preparing_for_maintenance, as a real host with VMs that cannot leave.
    assert_eq!(
        sim.control_get("/hosts/b1")["status"],
        "preparing_for_maintenance"
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.control_get("/hosts/a1")["spm"] != "spm" {
        assert!(Instant::now() < deadline, "SPM never moved");
        std::thread::sleep(Duration::from_millis(50));
    }
    let body = sim.get(&token, &format!("/hosts/{a1}")).text().unwrap();
    assert!(body.contains("<status>spm</status>"));

    // Activate: refused while up; a host in maintenance comes back through unassigned.
    let r = sim.post(&token, &format!("/hosts/{a1}/activate"), "<action/>");
    assert_eq!(r.status(), 409);
    assert_eq!(
        element(&r.text().unwrap(), "detail").as_deref(),
        Some("[Cannot activate Host. Host in Up status.]")
    );

    // refresh is counted.
    assert_eq!(
        sim.post(&token, &format!("/hosts/{a1}/refresh"), "<action/>")
            .status(),
        200
    );
    assert_eq!(sim.control_get("/hosts/a1")["refresh_count"], 1);
}

#[test]
fn non_responsive_spm_needs_a_manual_fence() {
    let (sim, _f) = Sim::with_scenario(
        "delays_ms: {spm_election: 200, host_maintenance: 100}\n\
         clusters: [{name: local, data_center: DC}, {name: remote, data_center: DC}]\n\
         hosts:\n\
         \x20 - {name: l1, cluster: local}\n\
         \x20 - {name: r1, cluster: remote, status: non_responsive, spm: true}\n\
         vms: [{name: v, cluster: remote, status: unknown, host: r1}]\n",
    );
    let token = sim.token();
    let r1 = sim.host_id("r1");
    let l1 = sim.host_id("l1");
    // The SPM stays on the non_responsive host.
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(sim.control_get("/hosts/r1")["spm"], "spm");
    let dcs = sim.control_get("/datacenters");
    assert_eq!(dcs[0]["status"], "problematic");

    // It cannot go to maintenance while it has VMs / is the SPM.
    let r = sim.post(&token, &format!("/hosts/{r1}/deactivate"), "<action/>");
    assert_eq!(r.status(), 409);
    assert!(
        element(&r.text().unwrap(), "detail")
            .unwrap()
            .contains("Non Responsive state")
    );

    // fence_type is required and checked.
    let r = sim.post(&token, &format!("/hosts/{r1}/fence"), "<action/>");
    assert_eq!(r.status(), 400);
    let body = r.text().unwrap();
    assert_eq!(
        element(&body, "reason").as_deref(),
        Some("Incomplete parameters")
    );
    let r = sim.post(
        &token,
        &format!("/hosts/{r1}/fence"),
        "<action><fence_type>reboot</fence_type></action>",
    );
    assert_eq!(r.status(), 400);
    // Manual fence of an up host is refused.
    let r = sim.post(
        &token,
        &format!("/hosts/{l1}/fence"),
        "<action><fence_type>manual</fence_type></action>",
    );
    assert_eq!(r.status(), 409);

    // Manual fence: the SPM role is released and its VMs are down; l1 takes the role.
    let r = sim.post(
        &token,
        &format!("/hosts/{r1}/fence"),
        "<action><fence_type>manual</fence_type></action>",
    );
    assert_eq!(r.status(), 200, "{}", r.text().unwrap());
    assert_eq!(sim.control_get("/vms/v")["status"], "down");
    let deadline = Instant::now() + Duration::from_secs(5);
    while sim.control_get("/hosts/l1")["spm"] != "spm" {
        assert!(Instant::now() < deadline, "SPM never moved");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(sim.control_get("/hosts/r1")["manual_fence_count"], 1);
    assert_eq!(sim.control_get("/datacenters")[0]["status"], "up");

    // Now it can go to maintenance.
    let r = sim.post(&token, &format!("/hosts/{r1}/deactivate"), "<action/>");
    assert_eq!(r.status(), 200);
}

#[test]
fn guests_that_ignore_shutdown_or_fail_to_start() {
    let (sim, _f) = Sim::with_scenario(
        "delays_ms: {wait_for_launch: 200, powering_down: 300}\n\
         clusters: [{name: c}]\n\
         hosts: [{name: h, cluster: c}]\n\
         vms:\n\
         \x20 - {name: stubborn, cluster: c, status: up, host: h, ignores_shutdown: true}\n\
         \x20 - {name: broken, cluster: c, status: down, fails_to_start: true}\n",
    );
    let token = sim.token();
    let id = sim.vm_id("stubborn");
    assert_eq!(
        sim.post(&token, &format!("/vms/{id}/shutdown"), "<action/>")
            .status(),
        200
    );
    let seen = sim.wait_vm_status(&token, &id, "up", Duration::from_secs(5));
    assert_eq!(seen, vec!["powering_down", "up"]);
    // Escalation: stop works.
    assert_eq!(
        sim.post(&token, &format!("/vms/{id}/stop"), "<action/>")
            .status(),
        200
    );
    assert_eq!(sim.control_get("/vms/stubborn")["status"], "down");

    let id = sim.vm_id("broken");
    assert_eq!(
        sim.post(&token, &format!("/vms/{id}/start"), "<action/>")
            .status(),
        200
    );
    let seen = sim.wait_vm_status(&token, &id, "down", Duration::from_secs(5));
    assert_eq!(seen, vec!["wait_for_launch", "down"]);
}
