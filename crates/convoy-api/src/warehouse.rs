//! Warehouse and its subscriptions.
//!
//! A subscription is an object with exactly one type key: `git`, `image`, `chart`, or any other
//! key for a generic subscription, whose body is kept as given.

use serde::de::{self, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::meta::{Condition, ObjectMeta};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Warehouse {
    pub api_version: String,
    pub kind: String,
    #[serde(default)]
    pub metadata: ObjectMeta,
    #[serde(default)]
    pub spec: WarehouseSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<WarehouseStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WarehouseSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// A duration such as `5m0s`; defaulted to `5m0s`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    /// `Automatic` (default) or `Manual`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight_creation_policy: Option<String>,
    #[serde(default)]
    pub subscriptions: Vec<Subscription>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freight_creation_criteria: Option<FreightCreationCriteria>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FreightCreationCriteria {
    #[serde(default)]
    pub expression: String,
}

/// One artifact source of a Warehouse.
#[derive(Debug, Clone, PartialEq)]
pub enum Subscription {
    Git(GitSubscription),
    Image(ImageSubscription),
    Chart(ChartSubscription),
    /// Any other type key, kept as given.
    Generic {
        subscription_type: String,
        body: GenericSubscription,
    },
}

impl Subscription {
    /// The type key of this subscription (`git`, `image`, `chart` or the generic type).
    pub fn type_key(&self) -> &str {
        match self {
            Subscription::Git(_) => "git",
            Subscription::Image(_) => "image",
            Subscription::Chart(_) => "chart",
            Subscription::Generic { subscription_type, .. } => subscription_type,
        }
    }

    /// Whether this subscription reads `url`, both normalized as its kind's URLs are (Kargo's
    /// `subscribedURLs` index).
    pub fn subscribes_to(&self, url: &str) -> bool {
        use crate::urls::{normalize_chart, normalize_git, normalize_image};
        match self {
            Subscription::Git(sub) => normalize_git(&sub.repo_url) == normalize_git(url),
            Subscription::Image(sub) => normalize_image(&sub.repo_url) == normalize_image(url),
            Subscription::Chart(sub) => normalize_chart(&sub.repo_url) == normalize_chart(url),
            Subscription::Generic { .. } => false,
        }
    }

    /// The repository this subscription reads (none for generic subscriptions).
    pub fn repo_url(&self) -> Option<&str> {
        match self {
            Subscription::Git(sub) => Some(&sub.repo_url),
            Subscription::Image(sub) => Some(&sub.repo_url),
            Subscription::Chart(sub) => Some(&sub.repo_url),
            Subscription::Generic { .. } => None,
        }
    }
}

impl Serialize for Subscription {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(1))?;
        match self {
            Subscription::Git(s) => map.serialize_entry("git", s)?,
            Subscription::Image(s) => map.serialize_entry("image", s)?,
            Subscription::Chart(s) => map.serialize_entry("chart", s)?,
            Subscription::Generic { subscription_type, body } => map.serialize_entry(subscription_type, body)?,
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Subscription {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SubscriptionVisitor;
        impl<'de> Visitor<'de> for SubscriptionVisitor {
            type Value = Subscription;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a subscription with exactly one of `git`, `image`, `chart` or a generic type")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Subscription, A::Error> {
                let Some(key) = map.next_key::<String>()? else {
                    return Err(de::Error::custom(
                        "subscription is empty; set exactly one of `git`, `image` or `chart`",
                    ));
                };
                let sub = match key.as_str() {
                    "git" => Subscription::Git(map.next_value()?),
                    "image" => Subscription::Image(map.next_value()?),
                    "chart" => Subscription::Chart(map.next_value()?),
                    _ => Subscription::Generic { subscription_type: key.clone(), body: map.next_value()? },
                };
                if let Some(other) = map.next_key::<String>()? {
                    return Err(de::Error::custom(format!(
                        "subscription has more than one type (`{key}` and `{other}`); put each in its own list item"
                    )));
                }
                Ok(sub)
            }
        }
        deserializer.deserialize_map(SubscriptionVisitor)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GitSubscription {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// `NewestFromBranch` (default), `SemVer`, `Lexical` or `NewestTag`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_selection_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_semvers: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver_constraint: Option<String>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_tags: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_tags_regexes: Vec<String>,
    /// Deprecated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_tags_regexes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expression_filter: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub include_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_paths: Vec<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not", rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blobless: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_limit: Option<i64>,
    /// RFC 3339 time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageSubscription {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    /// `SemVer` (default), `Lexical`, `NewestBuild` or `Digest`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_selection_strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraint: Option<String>,
    /// Older name of `constraint`, still read by Kargo.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver_constraint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict_semvers: Option<bool>,
    /// Deprecated; Kargo v1.11 fails discovery when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow_tags: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_tags_regexes: Vec<String>,
    /// Deprecated; Kargo v1.11 fails discovery when set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ignore_tags_regexes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not", rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cache_by_tag: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChartSubscription {
    #[serde(rename = "repoURL")]
    pub repo_url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub semver_constraint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_limit: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not", rename = "insecureSkipTLSVerify")]
    pub insecure_skip_tls_verify: bool,
}

/// The body of a generic subscription; `config` is free-form.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GenericSubscription {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_limit: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WarehouseStatus {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_refresh: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "lastFreightID")]
    pub last_freight_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_artifacts: Option<DiscoveredArtifacts>,
}

/// What the last discovery found, newest first per source.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoveredArtifacts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovered_at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub git: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub charts: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<serde_json::Value>,
}
