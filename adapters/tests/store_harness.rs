//! Shared harness of the store integration tests: a fresh store on SQLite (temporary
//! directory) or PostgreSQL (fresh schema in database `test`), requests built the way the
//! gateway builds them (query form-decoded), and [`both!`] to run one case on both.
#![allow(dead_code, missing_docs)]

use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use fhirgate_adapters::interaction::parse_target;
use fhirgate_adapters::store::{StoreConfig, build};
use fhirgate_adapters::{BuildContext, FhirRequest, ResponseBody, SharedAdapter};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use serde_json::Value;

/// Public base URL the tests pretend the gateway has.
pub const BASE: &str = "http://gw.test/fhir";
/// PostgreSQL of the test machine (trust auth).
pub const PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A store under test.
pub struct Store {
    pub adapter: SharedAdapter,
    pub config: StoreConfig,
    pub dir: std::path::PathBuf,
}

/// An answer, with the body parsed when it is JSON.
#[derive(Debug)]
pub struct Resp {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub text: String,
    pub json: Value,
}

impl Resp {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{prefix}_{}_{n}_{nanos}", std::process::id())
}

/// The config of a fresh store on `backend`.
pub fn config(backend: Backend, seed: bool) -> (StoreConfig, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(unique("fhirgate_store"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut config = StoreConfig {
        seed,
        ..StoreConfig::default()
    };
    if backend == Backend::Postgres {
        config.url = PG_URL.into();
        config.schema = Some(unique("fg_test"));
    }
    (config, dir)
}

/// Builds a store from `config`.
pub async fn open(config: StoreConfig, dir: std::path::PathBuf) -> Store {
    let ctx = BuildContext::new(dir.clone());
    let adapter = build("store", &config, &ctx).await.expect("store builds");
    Store {
        adapter,
        config,
        dir,
    }
}

/// A fresh, unseeded store.
pub async fn store(backend: Backend) -> Store {
    let (config, dir) = config(backend, false);
    open(config, dir).await
}

impl Store {
    /// Sends `method path?query` with an optional body and headers.
    pub async fn call(
        &self,
        method: &str,
        path_and_query: &str,
        body: Option<&str>,
        headers: &[(&str, &str)],
    ) -> Resp {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let (path, query) = path_and_query
            .split_once('?')
            .unwrap_or((path_and_query, ""));
        let target = parse_target(&method, path).expect("valid path");
        let mut req = FhirRequest::new(method, target, BASE);
        req.query = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        for (k, v) in headers {
            req.headers.insert(
                http::HeaderName::from_bytes(k.as_bytes()).expect("header name"),
                HeaderValue::from_str(v).expect("header value"),
            );
        }
        if let Some(b) = body {
            req.body = Bytes::from(b.to_owned());
        }
        let resp = self.adapter.handle(req).await.expect("no adapter error");
        let text = match resp.body {
            ResponseBody::Full(b) => String::from_utf8(b.to_vec()).expect("utf-8"),
            ResponseBody::Stream(_) => panic!("unexpected stream"),
        };
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp {
            status: resp.status,
            headers: resp.headers,
            text,
            json,
        }
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call("GET", path, None, &[]).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> Resp {
        self.call("POST", path, Some(&body.to_string()), &[]).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Resp {
        self.call("PUT", path, Some(&body.to_string()), &[]).await
    }

    /// Creates `resource` and returns its id.
    pub async fn create(&self, resource: &Value) -> String {
        let rt = resource["resourceType"].as_str().expect("resourceType");
        let r = self.post(rt, resource).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.json["id"].as_str().expect("id").to_owned()
    }

    /// The ids of the `match` entries of a searchset.
    pub async fn search_ids(&self, path: &str) -> Vec<String> {
        let r = self.get(path).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text);
        ids(&r.json, "match")
    }

    /// Drops the PostgreSQL schema / removes the SQLite directory.
    pub async fn cleanup(self) {
        if let Some(schema) = &self.config.schema {
            use sqlx::Connection;
            if let Ok(mut conn) = sqlx::PgConnection::connect(PG_URL).await {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"
                )))
                .execute(&mut conn)
                .await;
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Ids of the entries of `bundle` with `search.mode` = `mode`.
pub fn ids(bundle: &Value, mode: &str) -> Vec<String> {
    bundle["entry"]
        .as_array()
        .map(|es| {
            es.iter()
                .filter(|e| e["search"]["mode"] == mode)
                .filter_map(|e| e["resource"]["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// `value` without `id` and `meta`, for exact comparisons.
pub fn strip(value: &Value) -> Value {
    let mut v = value.clone();
    if let Value::Object(m) = &mut v {
        m.shift_remove("id");
        m.shift_remove("meta");
    }
    v
}

/// Reads a fixture below the repository's `tests/fixtures`.
pub fn fixture(rel: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Lists the fixture files of a folder below `tests/fixtures`.
pub fn fixture_files(folder: &str) -> Vec<std::path::PathBuf> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures")
        .join(folder);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixture dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
}

/// One test function per case, run on SQLite and on PostgreSQL:
/// `sqlite::<case>` and `postgres::<case>`.
#[macro_export]
macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let s = $crate::store_harness::store($crate::store_harness::Backend::Sqlite).await;
                    super::$name(&s).await;
                    s.cleanup().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let s = $crate::store_harness::store($crate::store_harness::Backend::Postgres).await;
                    super::$name(&s).await;
                    s.cleanup().await;
                }
            )*
        }
    };
}
