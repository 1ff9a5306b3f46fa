//! `convoy doctor`: can this install do what it is asked? One line per check (ok, warn, fail)
//! with the fix; exit 1 when any check fails. Client checks run here; server checks come from
//! `GET /v1/diagnostics`.

use std::process::ExitCode;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Value, json};

use crate::cli::LintFormat;
use crate::client::Client;

/// The oldest git Convoy is tested with (sparse cone checkouts need 2.25).
const MIN_GIT: (u64, u64) = (2, 25);
const MAX_SKEW: Duration = Duration::from_secs(30);

struct Check {
    name: String,
    status: &'static str,
    message: String,
    fix: String,
}

fn check(name: &str, status: &'static str, message: impl Into<String>, fix: &str) -> Check {
    Check { name: name.to_owned(), status, message: message.into(), fix: fix.to_owned() }
}

pub fn run(client: Client, format: LintFormat) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Runtime::new()?;
    let mut checks = vec![git(), kustomize()];
    checks.extend(runtime.block_on(server(&client)));
    let failed = checks.iter().any(|c| c.status == "fail");
    match format {
        LintFormat::Json => {
            let list: Vec<Value> = checks
                .iter()
                .map(|c| json!({"name": c.name, "status": c.status, "message": c.message, "fix": c.fix}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&list)?);
        }
        LintFormat::Text => {
            for c in &checks {
                println!("{:<4}  {}: {}", c.status, c.name, c.message);
                if c.status != "ok" && !c.fix.is_empty() {
                    println!("      fix: {}", c.fix);
                }
            }
        }
    }
    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn git() -> Check {
    let out = std::process::Command::new("git").arg("--version").output().ok();
    let Some(out) = out.filter(|o| o.status.success()) else {
        return check("git", "fail", "git is not on PATH", "install git 2.25 or newer (Debian: apt-get install git)");
    };
    let text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let version = text.split_whitespace().nth(2).unwrap_or("");
    let mut parts = version.split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < MIN_GIT {
        return check("git", "fail", format!("{text} is older than {}.{}", MIN_GIT.0, MIN_GIT.1), "upgrade git");
    }
    check("git", "ok", text, "")
}

fn kustomize() -> Check {
    let found = |program: &str, args: &[&str]| {
        std::process::Command::new(program).args(args).output().is_ok_and(|o| o.status.success())
    };
    if found("kustomize", &["version"]) {
        check("kustomize", "ok", "kustomize is on PATH", "")
    } else if found("kubectl", &["version", "--client"]) {
        check("kustomize", "ok", "kubectl (with kustomize built in) is on PATH", "")
    } else {
        check(
            "kustomize",
            "warn",
            "neither kustomize nor kubectl is on PATH: kustomize-build steps will fail",
            "install kubectl or kustomize where the server runs",
        )
    }
}

async fn server(client: &Client) -> Vec<Check> {
    let address = client.settings.server.clone();
    // The client's own HTTP client: an https server is verified as every other command does.
    let response = client.http().get(format!("{address}/version")).timeout(Duration::from_secs(10)).send().await;
    let response = match response {
        Ok(r) => r,
        Err(e) => {
            let unreachable = client.unreachable(&e).to_string();
            let fix = if unreachable.contains("certificate") {
                "pass --certificate-authority FILE (the CA that signed the server's certificate)"
            } else {
                "start `convoy server`, or set --server / CONVOY_SERVER"
            };
            return vec![check("server", "fail", unreachable, fix)];
        }
    };
    let date = response.headers().get("date").and_then(|v| v.to_str().ok()).and_then(http_date);
    let version: Value = response.json().await.unwrap_or(Value::Null);
    let server_version = version["version"].as_str().unwrap_or("?").to_owned();
    let minimum = version["minClientVersion"].as_str().unwrap_or("0.0.0");
    let mut checks = Vec::new();
    let client_version = env!("CARGO_PKG_VERSION");
    checks.push(if convoy_server::older(client_version, minimum) {
        check(
            "versions",
            "fail",
            format!("convoy {client_version} is older than the server's minimum {minimum}"),
            &format!("install convoy {server_version}"),
        )
    } else {
        check("versions", "ok", format!("client {client_version}, server {server_version}"), "")
    });
    if let Some(server_time) = date {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
        let skew = (now - server_time).unsigned_abs();
        checks.push(if skew > MAX_SKEW.as_secs() {
            check(
                "clock",
                "warn",
                format!("this machine and the server differ by {skew} s"),
                "synchronise the clocks (NTP): soak times and intervals depend on them",
            )
        } else {
            check("clock", "ok", format!("within {skew} s of the server"), "")
        });
    }
    match client.get("/v1/diagnostics").await {
        Ok(report) => {
            for c in report["checks"].as_array().into_iter().flatten() {
                let status = match c["status"].as_str() {
                    Some("ok") => "ok",
                    Some("warn") => "warn",
                    _ => "fail",
                };
                let text = |k: &str| c[k].as_str().unwrap_or("").to_owned();
                checks.push(Check { name: text("name"), status, message: text("message"), fix: text("fix") });
            }
        }
        Err(e) => checks.push(check(
            "diagnostics",
            "fail",
            e.to_string(),
            "log in with an administrator's token: convoy login --server URL --token-file DATA_DIR/admin-token",
        )),
    }
    checks
}

/// Seconds since the epoch of an HTTP date (`Sat, 28 Nov 2026 09:35:00 GMT`).
fn http_date(text: &str) -> Option<i64> {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [_, day, month, year, time, "GMT"] = parts[..] else { return None };
    let month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        .iter()
        .position(|m| *m == month)?
        + 1;
    let stamp = format!("{year}-{month:02}-{:02}T{time}Z", day.parse::<u32>().ok()?);
    convoy_api::time::Timestamp::parse(&stamp).ok().map(|t| t.seconds())
}

#[cfg(test)]
mod tests {
    #[test]
    fn http_dates() {
        // 2026-11-28T09:35:00Z, computed with `date -u -d 2026-11-28T09:35:00Z +%s`.
        assert_eq!(super::http_date("Sat, 28 Nov 2026 09:35:00 GMT"), Some(1_795_858_500));
        assert_eq!(super::http_date("yesterday"), None);
    }
}
