//! OpenID Connect: ID tokens verified against the issuer's published keys, the UI's sign-in
//! (authorization code + PKCE) and the device flow the CLI uses.
//!
//! ```text
//!  issuer/.well-known/openid-configuration ──▶ Discovery (endpoints, jwks_uri)
//!  jwks_uri ──▶ keys by kid (fetched again for an unknown kid, at most every 2 s)
//!  Bearer <ID token> ──▶ verify: signature (RS256/ES256), iss, aud, exp, nbf ──▶ claims
//! ```

use std::collections::HashMap;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

/// How single sign-on is set up (`convoy server --oidc-*`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OidcConfig {
    pub issuer: String,
    /// The UI's client (authorization code + PKCE, no secret).
    pub client_id: String,
    /// The CLI's client (device flow); the UI's when not set apart.
    pub cli_client_id: String,
    /// Scopes asked for besides `openid` (e.g. `groups`, `email`).
    pub scopes: Vec<String>,
    /// System roles given by claims: (role, claim, value), e.g. (`kargo-admin`, `groups`, `ops`).
    pub system_roles: Vec<(String, String, String)>,
}

impl OidcConfig {
    /// Every scope to ask for.
    pub fn scope(&self) -> String {
        let mut scopes = vec!["openid".to_owned()];
        scopes.extend(self.scopes.iter().filter(|s| s.as_str() != "openid").cloned());
        scopes.join(" ")
    }
}

/// The issuer's endpoints.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default)]
    pub device_authorization_endpoint: Option<String>,
}

#[derive(Debug, Clone)]
enum Key {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    P256 { point: Vec<u8> },
}

struct Keys {
    fetched: Option<Instant>,
    by_id: HashMap<String, Key>,
}

/// A configured issuer, its discovery document and keys cached.
pub struct Oidc {
    pub config: OidcConfig,
    http: reqwest::Client,
    discovery: RwLock<Option<Discovery>>,
    keys: RwLock<Keys>,
}

/// Inputs from the network are bounded: a discovery document or key set this large is refused.
const MAX_DOCUMENT: usize = 256 * 1024;
/// An unknown key id fetches the key set again, at most this often.
const REFETCH_FLOOR: Duration = Duration::from_secs(2);

/// Reads a JSON document of at most [`MAX_DOCUMENT`] bytes.
pub async fn bounded_json<T: serde::de::DeserializeOwned>(response: reqwest::Response) -> Result<T, String> {
    let status = response.status();
    let bytes = response.bytes().await.map_err(|e| e.to_string())?;
    if bytes.len() > MAX_DOCUMENT {
        return Err(format!("the answer is larger than {MAX_DOCUMENT} bytes"));
    }
    if !status.is_success() {
        let text: String = String::from_utf8_lossy(&bytes).chars().take(300).collect();
        return Err(format!("{status}: {text}"));
    }
    serde_json::from_slice(&bytes).map_err(|e| format!("not the JSON expected: {e}"))
}

impl Oidc {
    pub fn new(config: OidcConfig) -> Oidc {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Oidc {
            config,
            http,
            discovery: RwLock::new(None),
            keys: RwLock::new(Keys { fetched: None, by_id: HashMap::new() }),
        }
    }

    /// The discovery document, fetched once (again after a failure).
    pub async fn discovery(&self) -> Result<Discovery, String> {
        if let Some(found) = self.discovery.read().await.clone() {
            return Ok(found);
        }
        let url = format!("{}/.well-known/openid-configuration", self.config.issuer.trim_end_matches('/'));
        let response =
            self.http.get(&url).send().await.map_err(|e| format!("cannot reach the issuer at {url}: {e}"))?;
        let found: Discovery = bounded_json(response).await.map_err(|e| format!("{url}: {e}"))?;
        if found.issuer.trim_end_matches('/') != self.config.issuer.trim_end_matches('/') {
            return Err(format!("{url} names issuer {:?}, not {:?}", found.issuer, self.config.issuer));
        }
        *self.discovery.write().await = Some(found.clone());
        Ok(found)
    }

    async fn fetch_keys(&self) -> Result<(), String> {
        let discovery = self.discovery().await?;
        let response =
            self.http.get(&discovery.jwks_uri).send().await.map_err(|e| format!("{}: {e}", discovery.jwks_uri))?;
        let set: Value = bounded_json(response).await.map_err(|e| format!("{}: {e}", discovery.jwks_uri))?;
        let mut by_id = HashMap::new();
        for jwk in set["keys"].as_array().into_iter().flatten() {
            let text = |f: &str| jwk[f].as_str().unwrap_or("");
            if !matches!(text("use"), "" | "sig") {
                continue;
            }
            let decode = |f: &str| URL_SAFE_NO_PAD.decode(text(f)).ok();
            let key = match (text("kty"), text("crv")) {
                ("RSA", _) => match (decode("n"), decode("e")) {
                    (Some(n), Some(e)) => Key::Rsa { n, e },
                    _ => continue,
                },
                ("EC", "P-256") => match (decode("x"), decode("y")) {
                    (Some(x), Some(y)) if x.len() == 32 && y.len() == 32 => {
                        let mut point = vec![4u8];
                        point.extend(x);
                        point.extend(y);
                        Key::P256 { point }
                    }
                    _ => continue,
                },
                _ => continue,
            };
            by_id.insert(text("kid").to_owned(), key);
        }
        *self.keys.write().await = Keys { fetched: Some(Instant::now()), by_id };
        Ok(())
    }

    async fn key(&self, kid: &str) -> Result<Key, String> {
        {
            let keys = self.keys.read().await;
            if let Some(key) = keys.by_id.get(kid) {
                return Ok(key.clone());
            }
            if keys.fetched.is_some_and(|at| at.elapsed() < REFETCH_FLOOR) {
                return Err(format!("the issuer publishes no key {kid:?}"));
            }
        }
        // A key not seen yet: the issuer may have rotated its keys.
        self.fetch_keys().await?;
        self.keys.read().await.by_id.get(kid).cloned().ok_or_else(|| format!("the issuer publishes no key {kid:?}"))
    }

    /// The claims of an ID token issued to one of `audiences`, or why it is not accepted.
    pub async fn verify(&self, token: &str, audiences: &[&str]) -> Result<Value, String> {
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err("not a JWT".into());
        };
        let decode = |part: &str| URL_SAFE_NO_PAD.decode(part).map_err(|_| "not base64url".to_owned());
        let header: Value = serde_json::from_slice(&decode(header)?).map_err(|_| "the JWT header is not JSON")?;
        let claims: Value = serde_json::from_slice(&decode(payload)?).map_err(|_| "the JWT claims are not JSON")?;
        let signature = decode(signature)?;
        let alg = header["alg"].as_str().unwrap_or("");
        let kid = header["kid"].as_str().unwrap_or("");
        // `none`, HMAC keyed with a public key, and the rest: refused before any key is read.
        if !matches!(alg, "RS256" | "ES256") {
            return Err(format!("algorithm {alg:?} is not accepted (RS256 and ES256 are)"));
        }
        let key = self.key(kid).await?;
        let signed = &token.as_bytes()[..token.rfind('.').unwrap_or(0)];
        use aws_lc_rs::signature::{self, UnparsedPublicKey};
        let valid = match (alg, &key) {
            ("RS256", Key::Rsa { n, e }) => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, signed, &signature)
                .is_ok(),
            ("ES256", Key::P256 { point }) => {
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, point).verify(signed, &signature).is_ok()
            }
            _ => return Err(format!("algorithm {alg:?} does not match the issuer's key {kid:?}")),
        };
        if !valid {
            return Err("the signature does not verify".into());
        }
        let issuer = claims["iss"].as_str().unwrap_or("");
        if issuer.trim_end_matches('/') != self.config.issuer.trim_end_matches('/') {
            return Err(format!("issued by {issuer:?}, not {:?}", self.config.issuer));
        }
        let audience: Vec<&str> = match &claims["aud"] {
            Value::String(one) => vec![one.as_str()],
            Value::Array(many) => many.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        if !audience.iter().any(|a| audiences.contains(a)) {
            return Err(format!("issued to {audience:?}, not to this server's clients {audiences:?}"));
        }
        let now =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs() as i64;
        match claims["exp"].as_i64() {
            Some(exp) if exp > now => {}
            Some(exp) => return Err(format!("expired {} s ago; sign in again", now - exp)),
            None => return Err("no expiry (exp)".into()),
        }
        if claims["nbf"].as_i64().is_some_and(|nbf| nbf > now + 60) {
            return Err("not valid yet (nbf)".into());
        }
        if claims["sub"].as_str().is_none_or(str::is_empty) {
            return Err("no subject (sub)".into());
        }
        Ok(claims)
    }

    /// The system roles the configuration gives to these claims.
    pub fn system_roles(&self, claims: &Value) -> Vec<String> {
        let mut roles: Vec<String> = self
            .config
            .system_roles
            .iter()
            .filter(|(_, claim, value)| match &claims[claim] {
                Value::String(s) => s == value,
                Value::Array(items) => items.iter().any(|i| i.as_str() == Some(value)),
                _ => false,
            })
            .map(|(role, ..)| role.clone())
            .collect();
        roles.sort();
        roles.dedup();
        roles
    }

    /// Exchanges an authorization code (with its PKCE verifier) for an ID token.
    pub async fn exchange(&self, code: &str, verifier: &str, redirect_uri: &str) -> Result<String, String> {
        let discovery = self.discovery().await?;
        exchange_code(&self.http, &discovery, &self.config.client_id, code, verifier, redirect_uri).await
    }
}

/// The token endpoint's answer to an authorization code with its PKCE verifier: the ID token.
pub async fn exchange_code(
    http: &reqwest::Client,
    discovery: &Discovery,
    client_id: &str,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<String, String> {
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect_uri),
        ("client_id", client_id),
        ("code_verifier", verifier),
    ];
    let response = post_form(http, &discovery.token_endpoint, &form).await?;
    let answer: Value = bounded_json(response).await.map_err(|e| format!("the token endpoint answered {e}"))?;
    answer["id_token"].as_str().map(str::to_owned).ok_or_else(|| "the token endpoint gave no id_token".into())
}

/// POSTs a form to an issuer's endpoint.
async fn post_form(http: &reqwest::Client, endpoint: &str, form: &[(&str, &str)]) -> Result<reqwest::Response, String> {
    http.post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(form))
        .send()
        .await
        .map_err(|e| format!("{endpoint}: {e}"))
}

/// `a=1&b=x%20y`: an `application/x-www-form-urlencoded` body (also a URL's query).
pub fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", percent(k), percent(v))).collect::<Vec<_>>().join("&")
}

/// Percent-encodes all but the unreserved characters.
pub fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A PKCE verifier and its S256 challenge.
pub fn pkce() -> (String, String) {
    let verifier = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Whether a bearer value looks like a JWT rather than a Convoy token.
pub fn looks_like_jwt(token: &str) -> bool {
    token.starts_with("eyJ") && token.bytes().filter(|b| *b == b'.').count() == 2
}

/// What `GET /v1/auth/config` tells clients (public: no secret in it).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublicConfig {
    pub issuer: String,
    pub client_id: String,
    pub cli_client_id: String,
    pub scope: String,
}

/// The device flow, from the CLI's side (RFC 8628).
pub mod device {
    use super::*;

    /// What the user is asked to do.
    #[derive(Debug, Clone, Deserialize)]
    pub struct Started {
        pub device_code: String,
        pub user_code: String,
        pub verification_uri: String,
        #[serde(default)]
        pub verification_uri_complete: Option<String>,
        #[serde(default = "default_interval")]
        pub interval: u64,
        #[serde(default)]
        pub expires_in: u64,
    }

    fn default_interval() -> u64 {
        5
    }

    pub async fn start(
        http: &reqwest::Client,
        discovery: &Discovery,
        client_id: &str,
        scope: &str,
    ) -> Result<Started, String> {
        let Some(endpoint) = &discovery.device_authorization_endpoint else {
            return Err("the issuer offers no device flow (no device_authorization_endpoint)".into());
        };
        let response = post_form(http, endpoint, &[("client_id", client_id), ("scope", scope)]).await?;
        bounded_json(response).await.map_err(|e| format!("{endpoint}: {e}"))
    }

    /// Polls until the user has signed in (the ID token), refused, or the code expired.
    pub async fn finish(
        http: &reqwest::Client,
        discovery: &Discovery,
        client_id: &str,
        started: &Started,
    ) -> Result<String, String> {
        let mut interval = Duration::from_secs(started.interval.clamp(1, 60));
        let deadline = Instant::now() + Duration::from_secs(started.expires_in.clamp(60, 1800));
        loop {
            tokio::time::sleep(interval).await;
            if Instant::now() > deadline {
                return Err("the code expired before the sign-in finished; run convoy login --sso again".into());
            }
            let form = [
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", started.device_code.as_str()),
                ("client_id", client_id),
            ];
            let response = post_form(http, &discovery.token_endpoint, &form).await?;
            let status = response.status();
            let bytes = response.bytes().await.map_err(|e| e.to_string())?;
            let answer: Value = serde_json::from_slice(&bytes[..bytes.len().min(MAX_DOCUMENT)]).unwrap_or_default();
            if status.is_success() {
                return answer["id_token"]
                    .as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| "no id_token in the answer".into());
            }
            match answer["error"].as_str().unwrap_or("") {
                "authorization_pending" => {}
                "slow_down" => interval += Duration::from_secs(5),
                "access_denied" => return Err("the sign-in was refused".into()),
                "expired_token" => return Err("the code expired; run convoy login --sso again".into()),
                other => return Err(format!("the token endpoint answered {status}: {other}")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_the_s256_of_the_verifier() {
        // RFC 7636 appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        assert_eq!(challenge, "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        let (verifier, challenge) = pkce();
        assert!((43..=128).contains(&verifier.len()));
        assert_eq!(challenge, URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())));
    }

    #[tokio::test]
    async fn unsigned_and_hmac_tokens_are_refused_without_asking_the_issuer() {
        // The issuer is unreachable: a refusal that needed its keys would say so instead.
        let oidc = Oidc::new(OidcConfig { issuer: "http://127.0.0.1:9".into(), ..OidcConfig::default() });
        let claims = URL_SAFE_NO_PAD.encode(br#"{"iss":"http://127.0.0.1:9","sub":"a","aud":"x","exp":9999999999}"#);
        for alg in ["none", "HS256", "RS512"] {
            let header = URL_SAFE_NO_PAD.encode(format!(r#"{{"alg":"{alg}","kid":"k"}}"#));
            let error = oidc.verify(&format!("{header}.{claims}.c2ln"), &["x"]).await.unwrap_err();
            assert!(error.contains("is not accepted"), "{alg}: {error}");
        }
        assert_eq!(oidc.verify("a.b", &["x"]).await.unwrap_err(), "not a JWT");
    }

    #[test]
    fn jwts_are_told_from_tokens() {
        assert!(looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln"));
        assert!(!looks_like_jwt("cvy_0123456789abcdef"));
        assert!(!looks_like_jwt("eyJ.only-one-dot"));
    }
}
