//! What GitHub's code scanning requires of an uploaded SARIF file beyond the SARIF 2.1.0
//! schema, as GitHub's "SARIF support for code scanning" page and its upload errors state:
//! every result has a location (`locationFromSarifResult: expected at least one location`)
//! whose `physicalLocation.artifactLocation.uri` is not empty (`expected artifact location`)
//! and is a `uri-reference` (codeql-action's upload validation) relative to the checkout, with
//! a `region.startLine` of at least 1; at most 10 locations per result; rule IDs unique;
//! `ruleIndex` pointing at its rule; `informationUri`/`helpUri`, when present, absolute URLs.
#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;

/// Every way `sarif` falls short of what GitHub accepts; files are looked up under `repo`.
pub fn problems(sarif: &Value, repo: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let absolute_url = |s: &str| s.starts_with("https://") && !s.contains(' ');
    let Some(runs) = sarif["runs"].as_array() else {
        return vec!["no runs".into()];
    };
    for (r, run) in runs.iter().enumerate() {
        let driver = &run["tool"]["driver"];
        if let Some(uri) = driver.get("informationUri") {
            if !uri.as_str().is_some_and(absolute_url) {
                out.push(format!(
                    "run {r}: informationUri {uri} is not an absolute URL"
                ));
            }
        }
        let rules = driver["rules"].as_array().cloned().unwrap_or_default();
        let mut ids = std::collections::BTreeSet::new();
        for rule in &rules {
            let id = rule["id"].as_str().unwrap_or("");
            if !ids.insert(id) {
                out.push(format!("rule {id} listed twice"));
            }
            if let Some(uri) = rule.get("helpUri") {
                if !uri.as_str().is_some_and(absolute_url) {
                    out.push(format!("rule {id}: helpUri {uri} is not an absolute URL"));
                }
            }
        }
        for (i, result) in run["results"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let rule = result["ruleId"].as_str().unwrap_or("?");
            let at = format!("result {i} ({rule})");
            if let Some(index) = result.get("ruleIndex").and_then(Value::as_u64) {
                if rules.get(index as usize).map(|x| &x["id"]) != Some(&result["ruleId"]) {
                    out.push(format!("{at}: ruleIndex {index} names another rule"));
                }
            }
            let locations = result["locations"].as_array().cloned().unwrap_or_default();
            if locations.is_empty() {
                out.push(format!("{at}: no location"));
            }
            if locations.len() > 10 {
                out.push(format!("{at}: more than 10 locations"));
            }
            for l in &locations {
                let physical = &l["physicalLocation"];
                let uri = physical["artifactLocation"]["uri"].as_str().unwrap_or("");
                if uri.is_empty() {
                    out.push(format!("{at}: empty artifactLocation.uri"));
                } else if uri.contains("://") || uri.starts_with('/') || uri.contains(' ') {
                    out.push(format!(
                        "{at}: uri {uri:?} is not a path relative to the checkout"
                    ));
                } else if !repo.join(uri).exists() {
                    out.push(format!("{at}: uri {uri:?} is not a path of the repository"));
                }
                if physical["region"]["startLine"].as_u64().unwrap_or(0) < 1 {
                    out.push(format!("{at}: no region.startLine"));
                }
            }
        }
    }
    out
}
