//! The roles Convoy defines, as Kargo's Helm chart and management controller define them.

use convoy_api::rbac::PolicyRule;

const READ: &[&str] = &["get", "list", "watch"];

/// What a project's members may read (everything but Secrets, tokens and the audit trail).
const PROJECT_READABLE: &[&str] = &[
    "projects",
    "projectconfigs",
    "warehouses",
    "freights",
    "stages",
    "promotions",
    "promotiontasks",
    "configmaps",
    "analysistemplates",
    "events",
    "roles",
];

/// System roles, by name: `kargo-admin` (everything), `kargo-viewer` (read everything but
/// Secrets), `kargo-user` (list Projects, read the system configuration),
/// `kargo-project-creator` (`kargo-user` and create Projects).
pub const SYSTEM_ROLES: [&str; 4] = ["kargo-admin", "kargo-viewer", "kargo-user", "kargo-project-creator"];

/// Roles every project has: `kargo-admin`, `kargo-promoter`, `kargo-viewer`.
pub const PROJECT_ROLES: [&str; 3] = ["kargo-admin", "kargo-promoter", "kargo-viewer"];

/// The rules of a system role.
pub fn system_role(name: &str) -> Option<Vec<PolicyRule>> {
    let user = || {
        vec![
            PolicyRule::new(READ, &["projects"]),
            PolicyRule::new(READ, &["clusterconfigs", "clusterpromotiontasks", "clusteranalysistemplates"]),
        ]
    };
    Some(match name {
        "kargo-admin" => vec![PolicyRule::new(&["*"], &["*"])],
        "kargo-viewer" => {
            let readable: Vec<&str> =
                super::RESOURCES.iter().copied().filter(|r| !matches!(*r, "secrets" | "tokens")).collect();
            vec![PolicyRule::new(READ, &readable)]
        }
        "kargo-user" => user(),
        "kargo-project-creator" => {
            let mut rules = user();
            rules.push(PolicyRule::new(&["create"], &["projects"]));
            rules
        }
        _ => return None,
    })
}

/// The rules of a project role Convoy defines (before any edit stored for the project).
pub fn project_role(name: &str) -> Option<Vec<PolicyRule>> {
    let viewer = || vec![PolicyRule::new(READ, PROJECT_READABLE)];
    Some(match name {
        "kargo-viewer" => viewer(),
        "kargo-promoter" => {
            let mut rules = viewer();
            rules.push(PolicyRule::new(&["promote"], &["stages"]));
            rules.push(PolicyRule::new(&["create"], &["promotions"]));
            // Kargo's manual approval is a patch of the Freight's status.
            rules.push(PolicyRule::new(&["patch"], &["freights/status"]));
            rules
        }
        "kargo-admin" => vec![
            PolicyRule::new(
                &["*"],
                &[
                    "projectconfigs",
                    "warehouses",
                    "freights",
                    "freights/status",
                    "stages",
                    "promotiontasks",
                    "secrets",
                    "configmaps",
                    "analysistemplates",
                    "roles",
                    "tokens",
                ],
            ),
            PolicyRule::new(&["get", "list", "watch", "update", "patch", "delete"], &["projects"]),
            // Promotions are immutable once created: abort is a patch of an annotation.
            PolicyRule::new(&["create", "delete", "get", "list", "watch", "patch"], &["promotions"]),
            PolicyRule::new(READ, &["events", "audit"]),
        ],
        _ => return None,
    })
}
