//! Saved Render data in every shape Render hands out.

use super::*;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

/// The seed incident as a user would save it: API pages for the service and events, the
/// CLI's bare deploy array, one `/logs` envelope and one `render logs -o json` stream.
fn saved_seed(dir: &Path) {
    let fake = seed_fake();
    write(
        dir,
        "service.json",
        &serde_json::to_string_pretty(&fake.services[0]).unwrap(),
    );
    let mut deploys: Vec<Value> = fake.deploys.clone();
    for d in &mut deploys {
        d.as_object_mut().unwrap().remove("serviceId");
    }
    let (api_page, cli) = deploys.split_at(4);
    let page: Vec<Value> = api_page
        .iter()
        .map(|d| json!({"deploy": d, "cursor": format!("cur-{}", d["id"])}))
        .collect();
    write(
        dir,
        "deploys-page.json",
        &serde_json::to_string(&page).unwrap(),
    );
    write(
        dir,
        "deploys-cli.json",
        &serde_json::to_string_pretty(&cli).unwrap(),
    );
    let events: Vec<Value> = fake
        .events
        .iter()
        .map(|e| json!({"event": e, "cursor": "x"}))
        .collect();
    write(dir, "events.json", &serde_json::to_string(&events).unwrap());
    let (first, rest) = fake.logs.split_at(41);
    write(
        dir,
        "logs-api.json",
        &json!({"hasMore": false, "nextStartTime": ts(0, 0), "nextEndTime": ts(90, 0), "logs": first}).to_string(),
    );
    let stream: String = rest
        .iter()
        .map(|l| serde_json::to_string_pretty(l).unwrap())
        .collect();
    write(dir, "logs-cli.json", &stream);
    write(dir, "notes.txt", "not read: only JSON files are");
}

#[test]
fn every_saved_shape_is_read_and_gives_what_the_api_gives() {
    let dir = tempfile::tempdir().unwrap();
    saved_seed(dir.path());
    let offline = collect(&RenderSettings {
        data_dir: Some(dir.path().to_path_buf()),
        service: Some(SRV.into()),
        ..RenderSettings::default()
    })
    .unwrap();
    let fake = seed_fake().start();
    let online = collect(&settings(&fake, SRV)).unwrap();
    assert_eq!(offline.deploys, online.deploys);
    assert_eq!(offline.events, online.events);
    assert_eq!(offline.logs, online.logs);
    assert_eq!(offline.window, online.window);
    assert_eq!(offline.service, online.service);
    assert!(offline.notes.is_empty(), "{:?}", notes(&offline));
}

#[test]
fn without_a_service_object_the_id_comes_from_the_events_and_a_note_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    saved_seed(dir.path());
    std::fs::remove_file(dir.path().join("service.json")).unwrap();
    let e = collect(&RenderSettings {
        data_dir: Some(dir.path().to_path_buf()),
        ..RenderSettings::default()
    })
    .unwrap();
    assert_eq!(e.service.id, SRV);
    assert_eq!(e.deploys.len(), 5);
    assert!(notes(&e)[0]
        .starts_with("render.export: no saved service object for srv-d3ii9qk9c44c73aqsli0"));
}

#[test]
fn a_malformed_file_is_a_gap_naming_file_line_and_column_and_the_rest_is_read() {
    let dir = tempfile::tempdir().unwrap();
    saved_seed(dir.path());
    write(dir.path(), "logs-cli.json", "{\"id\": \"a\", \"message\": \"x\", \"timestamp\": \"2025-11-10T15:00:00Z\"}\n{\"id\": \"b\",\n  \"message\": x}");
    let e = collect(&RenderSettings {
        data_dir: Some(dir.path().to_path_buf()),
        ..RenderSettings::default()
    })
    .unwrap();
    let notes = notes(&e);
    let gap = notes
        .iter()
        .find(|n| n.starts_with("render.files:"))
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert!(
        gap.contains("logs-cli.json:3:14: not valid JSON") && gap.contains("skipped"),
        "{gap}"
    );
    // The good files, and the line read before the break, are all there.
    assert_eq!(e.deploys.len(), 5);
    assert!(e.logs.iter().any(|l| l.id == "a"));
    assert!(e.logs.len() > 1);
}

#[test]
fn a_truncated_export_beside_good_ones_is_a_gap_with_its_position() {
    let dir = tempfile::tempdir().unwrap();
    saved_seed(dir.path());
    let events = std::fs::read_to_string(dir.path().join("events.json")).unwrap();
    // Cut mid-array, as an interrupted download or a full disk leaves it.
    write(dir.path(), "events.json", &events[..events.len() / 2]);
    let e = collect(&RenderSettings {
        data_dir: Some(dir.path().to_path_buf()),
        service: Some(SRV.into()),
        ..RenderSettings::default()
    })
    .unwrap();
    let notes = notes(&e);
    let gap = notes
        .iter()
        .find(|n| n.contains("events.json:1:"))
        .unwrap_or_else(|| panic!("{notes:?}"));
    assert!(gap.contains("EOF while parsing"), "{gap}");
    assert_eq!(e.deploys.len(), 5);
    assert!(!e.logs.is_empty());
    assert!(!e.events.is_empty(), "the events before the cut are kept");
}

#[test]
fn an_unreadable_file_and_symlinks_are_gaps_listed_once() {
    let dir = tempfile::tempdir().unwrap();
    saved_seed(dir.path());
    std::os::unix::fs::symlink("/etc/passwd", dir.path().join("out.json")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    std::fs::write(dir.path().join("unreadable.json"), b"[{\"id\": \"\xff\"}]").unwrap();
    let e = collect(&RenderSettings {
        data_dir: Some(dir.path().to_path_buf()),
        service: Some(SRV.into()),
        ..RenderSettings::default()
    })
    .unwrap();
    let notes = notes(&e);
    let links: Vec<_> = notes
        .iter()
        .filter(|n| n.contains("symbolic links"))
        .collect();
    assert_eq!(links.len(), 1, "{notes:?}");
    assert!(
        links[0].contains("loop") && links[0].contains("out.json"),
        "{}",
        links[0]
    );
    assert!(
        notes.iter().any(|n| n.contains("unreadable.json")),
        "{notes:?}"
    );
    assert_eq!(e.deploys.len(), 5);
}

#[test]
fn a_json_value_that_is_no_render_data_names_its_place() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "odd.json",
        "[\n  {\"id\": \"dep-1\", \"status\": \"live\"}\n]\n\n{\"hello\": \"world\"}",
    );
    let e = collect(&RenderSettings {
        data_dir: Some(dir.path().to_path_buf()),
        service: Some(SRV.into()),
        ..RenderSettings::default()
    })
    .unwrap();
    let notes = notes(&e);
    assert!(
        notes.iter().any(|n| n.contains(
            "odd.json:5:1: the object is not a Render deploy, event, log line or service"
        )),
        "{notes:?}"
    );
}

/// Redactions count what the evidence stores: a secret in another service's log line, or in
/// the commit message of a deploy outside the window, is dropped with its text, not counted.
#[test]
fn redactions_count_only_what_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    saved_seed(dir.path());
    let other = json!({
        "id": "log-other-service",
        "message": "DATABASE_URL=postgresql://app:hunter2@db/app",
        "timestamp": ts(5, 0),
        "labels": [{"name": "resource", "value": "srv-someoneelse0000000000"}],
    });
    write(dir.path(), "logs-other.json", &other.to_string());
    let old = json!([{
        "id": "dep-outsidethewindow00000",
        "status": "live",
        "commit": {"id": "0000000000000000000000000000000000000000", "message": "password=hunter2"},
        "createdAt": "2020-01-01T00:00:00Z",
    }]);
    write(dir.path(), "deploys-old.json", &old.to_string());
    let evidence = collect(&RenderSettings {
        data_dir: Some(dir.path().to_path_buf()),
        service: Some(SRV.into()),
        since: Some("2021-01-01T00:00:00Z".parse().unwrap()),
        ..RenderSettings::default()
    })
    .unwrap();
    assert!(evidence.logs.iter().all(|l| l.id != "log-other-service"));
    assert!(evidence
        .deploys
        .iter()
        .all(|d| d.id != "dep-outsidethewindow00000"));
    assert!(evidence.redactions.is_empty(), "{:?}", evidence.redactions);
}
