//! The `store` adapter: builds the database, turns each [`FhirRequest`] into an
//! [`Op`], runs it in a transaction when it writes, and answers FHIR responses.

use fhirgate_conformance::IssueCode;
use http::StatusCode;
use sqlx::Executor;

use super::answer::{Answer, Return};
use super::config::StoreConfig;
use super::db::{self, Backend, Db, unavailable};
use super::exec::{Op, OpBody, execute, search_for};
use super::ops::{Ctx, Fail};
use super::params;
use super::patch::parse_patch;
use super::resource;
use super::{bundle, seed};
use crate::interaction::{Interaction, Target, Visibility};
use crate::{Adapter, AdapterError, BuildContext, FhirRequest, FhirResponse, SharedAdapter};

/// The embedded FHIR store.
pub(crate) struct Store {
    /// Instance name.
    pub name: String,
    /// Database.
    pub db: Db,
    /// Interaction settings.
    pub ctx: Ctx,
}

/// Builds the adapter: opens the database, creates the tables, rebuilds the search index of
/// resource types whose parameters changed since they were indexed, seeds an empty store.
///
/// Errors: [`AdapterError::Config`] when the database cannot be opened or created;
/// [`AdapterError::Unavailable`] when reindexing or seeding fails.
pub async fn build(
    name: &str,
    config: &StoreConfig,
    ctx: &BuildContext,
) -> Result<SharedAdapter, AdapterError> {
    let db = db::open(name, config, ctx).await?;
    super::reindex::reindex_stale(&db)
        .await
        .map_err(|e| unavailable(name, &e))?;
    let cursor_key = async {
        let mut conn = db.pool.acquire().await?;
        super::search::cursor::CursorKey::load(&mut conn).await
    }
    .await
    .map_err(|e| unavailable(name, &e))?;
    let store = Store {
        name: name.to_owned(),
        ctx: Ctx {
            backend: db.backend,
            update_create: config.update_create,
            max_answer_bytes: ctx.max_answer_bytes,
            cursor_key,
        },
        db,
    };
    if config.seed {
        seed::seed(&store).await?;
    }
    Ok(std::sync::Arc::new(store))
}

/// A request header as text.
pub(crate) fn header(req: &FhirRequest, name: &str) -> Option<String> {
    req.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// Whether a PATCH is JSON Patch: its Content-Type says so, or it has none (an adapter's
/// own internal patch).
fn is_json_patch(req: &FhirRequest) -> bool {
    header(req, "content-type").is_none_or(|ct| {
        ct.split(';').next().is_some_and(|essence| {
            essence
                .trim()
                .eq_ignore_ascii_case("application/json-patch+json")
        })
    })
}

/// The [`Op`] a request names; a 4xx answer when its body is unusable.
fn op_from_request(req: &FhirRequest) -> Result<Op, Answer> {
    let body = match req.interaction {
        Interaction::Create | Interaction::Update => {
            OpBody::Resource(resource::parse(&req.body, req.resource_type.as_deref())?)
        }
        Interaction::Patch if !is_json_patch(req) => {
            return Err(Answer::error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                IssueCode::NotSupported,
                "this store applies JSON Patch (Content-Type: application/json-patch+json, FHIR R4 http.html §3.1.0.5); FHIRPath Patch (application/fhir+json) is not supported",
            ));
        }
        Interaction::Patch => match parse_patch(&req.body) {
            Ok(p) => OpBody::Patch(p),
            Err(Fail::Client(a)) => return Err(a),
            Err(Fail::Db(_)) => OpBody::None,
        },
        _ => OpBody::None,
    };
    let prefer = header(req, "prefer").unwrap_or_default();
    Ok(Op {
        target: Target {
            interaction: req.interaction,
            resource_type: req.resource_type.clone(),
            id: req.id.clone(),
            version_id: req.version_id.clone(),
            operation: req.operation.clone(),
        },
        query: req.query.clone(),
        body,
        if_match: header(req, "if-match"),
        if_none_match: header(req, "if-none-match"),
        if_none_exist: header(req, "if-none-exist"),
        strict: prefer.contains("handling=strict"),
    })
}

impl Store {
    /// Runs one interaction: writes in their own transaction (committed only on success,
    /// serialized on SQLite), reads on a pooled connection.
    pub(crate) async fn run_op(&self, op: Op, base_url: &str) -> Result<Answer, AdapterError> {
        let db_err = |e: sqlx::Error| unavailable(&self.name, &e);
        if !op.is_write() {
            let mut conn = self.db.pool.acquire().await.map_err(db_err)?;
            return match execute(&mut conn, self.ctx, op, base_url, None).await {
                Ok(a) | Err(Fail::Client(a)) => Ok(a),
                Err(Fail::Db(e)) => Err(db_err(e)),
            };
        }
        let _guard = match self.db.backend {
            Backend::Sqlite => Some(self.db.write_lock.lock().await),
            Backend::Postgres => None,
        };
        let mut tx = self.db.pool.begin().await.map_err(db_err)?;
        match execute(&mut tx, self.ctx, op, base_url, None).await {
            Ok(a) if a.is_success() => {
                tx.commit().await.map_err(db_err)?;
                Ok(a)
            }
            Ok(a) | Err(Fail::Client(a)) => {
                tx.rollback().await.map_err(db_err)?;
                Ok(a)
            }
            Err(Fail::Db(e)) => conflict(e).map_err(db_err),
        }
    }
}

impl Store {
    /// Runs the search `op` for a caller who may see only what `rule` admits: each page
    /// holds up to `_count` admitted matches and its links count only those (the store is
    /// in-process, so testing every match costs no round trip).
    async fn search_visible(
        &self,
        op: &Op,
        base_url: &str,
        rule: &Visibility,
    ) -> Result<Answer, AdapterError> {
        let db_err = |e: sqlx::Error| unavailable(&self.name, &e);
        let mut conn = self.db.pool.acquire().await.map_err(db_err)?;
        match search_for(&mut conn, self.ctx, op, base_url, Some(rule)).await {
            Ok(a) | Err(Fail::Client(a)) => Ok(a),
            Err(Fail::Db(e)) => Err(db_err(e)),
        }
    }
}

/// A unique-key violation means a concurrent writer created the same resource first
/// (PostgreSQL, where writers are not serialized): 409 Conflict, the client may retry.
/// Every other database failure stays an error (503).
pub(crate) fn conflict(e: sqlx::Error) -> Result<Answer, sqlx::Error> {
    match &e {
        sqlx::Error::Database(d) if d.is_unique_violation() => Ok(Answer::error(
            StatusCode::CONFLICT,
            IssueCode::Conflict,
            "a concurrent write changed this resource; retry the request",
        )),
        _ => Err(e),
    }
}

#[async_trait::async_trait]
impl Adapter for Store {
    fn name(&self) -> &str {
        &self.name
    }

    async fn handle(&self, req: FhirRequest) -> Result<FhirResponse, AdapterError> {
        let answer = match req.interaction {
            Interaction::Batch | Interaction::Transaction => bundle::process(self, &req).await?,
            Interaction::Capabilities | Interaction::Operation => Answer::error(
                StatusCode::NOT_IMPLEMENTED,
                IssueCode::NotSupported,
                "the store adapter serves no operations or capabilities",
            ),
            _ => match op_from_request(&req) {
                Err(a) => a,
                Ok(op) => {
                    let ret = Return::from_prefer(header(&req, "prefer").as_deref());
                    let answer = match &req.visibility {
                        Some(rule) if op.target.interaction == Interaction::SearchType => {
                            self.search_visible(&op, &req.base_url, rule).await?
                        }
                        _ => self.run_op(op, &req.base_url).await?,
                    };
                    answer.with_return(ret)
                }
            },
        };
        tracing::debug!(
            adapter = %self.name,
            interaction = req.interaction.code(),
            status = answer.status.as_u16(),
            "store answered"
        );
        Ok(answer.into_response(&req.base_url))
    }

    async fn check(&self) -> Result<(), AdapterError> {
        self.db
            .pool
            .execute("SELECT 1")
            .await
            .map(|_| ())
            .map_err(|e| unavailable(&self.name, &e))
    }

    fn search_params(&self, resource_type: &str) -> Vec<(String, String)> {
        let mut out = vec![
            ("_id".to_owned(), "token".to_owned()),
            ("_lastUpdated".to_owned(), "date".to_owned()),
        ];
        out.extend(
            params::of(resource_type).map(|p| (p.name.to_owned(), p.kind.code().to_owned())),
        );
        out
    }

    /// Every reference parameter the store indexes on `resource_type` as
    /// `resource_type:param`, and the wildcard `*` (FHIR R4 search.html "Including other
    /// resources"); `_revinclude` is answered for any indexed reference, so `*` alone.
    fn search_includes(&self, resource_type: &str) -> (Vec<String>, Vec<String>) {
        let mut includes = vec!["*".to_owned()];
        includes.extend(
            params::of(resource_type)
                .filter(|p| p.kind == params::ParamType::Reference)
                .map(|p| format!("{resource_type}:{}", p.name)),
        );
        (includes, vec!["*".to_owned()])
    }
}
