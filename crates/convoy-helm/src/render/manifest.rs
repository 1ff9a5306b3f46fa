//! Rendered files into Helm's manifest text (`helm-rendering.md` §9): split into documents,
//! heads read, hooks told apart, sorted by kind (stable), written with `# Source:` headers.

/// Helm's install order of kinds; unknown kinds after, alphabetically.
const KIND_ORDER: &[&str] = &[
    "PriorityClass",
    "Namespace",
    "NetworkPolicy",
    "ResourceQuota",
    "LimitRange",
    "PodSecurityPolicy",
    "PodDisruptionBudget",
    "ServiceAccount",
    "Secret",
    "SecretList",
    "ConfigMap",
    "StorageClass",
    "PersistentVolume",
    "PersistentVolumeClaim",
    "CustomResourceDefinition",
    "ClusterRole",
    "ClusterRoleList",
    "ClusterRoleBinding",
    "ClusterRoleBindingList",
    "Role",
    "RoleList",
    "RoleBinding",
    "RoleBindingList",
    "Service",
    "DaemonSet",
    "Pod",
    "ReplicationController",
    "ReplicaSet",
    "Deployment",
    "HorizontalPodAutoscaler",
    "StatefulSet",
    "Job",
    "CronJob",
    "IngressClass",
    "Ingress",
    "APIService",
];

pub(super) const HOOK_EVENTS: &[&str] = &[
    "pre-install",
    "post-install",
    "pre-delete",
    "post-delete",
    "pre-upgrade",
    "post-upgrade",
    "pre-rollback",
    "post-rollback",
    "test",
    "test-success",
];

pub(super) struct Document {
    pub(super) path: String,
    pub(super) kind: String,
    pub(super) text: String,
    pub(super) hook: Option<Vec<String>>,
}

pub(super) fn kind_rank(kind: &str) -> (usize, String) {
    match KIND_ORDER.iter().position(|k| *k == kind) {
        Some(i) => (i, String::new()),
        None => (KIND_ORDER.len(), kind.to_owned()),
    }
}
