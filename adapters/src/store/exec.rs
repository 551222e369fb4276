//! One interaction, independent of where it came from (an HTTP request or a Bundle
//! entry): [`Op`] names it, [`execute`] runs it on a connection or transaction.

use fhirgate_conformance::IssueCode;
use http::StatusCode;
use serde_json::Value;
use sqlx::AnyConnection;

use super::answer::Answer;
use super::history::history;
use super::ops::{self, Ctx, Fail, OpResult};
use super::patch::patch;
use super::search;
use crate::interaction::{Interaction, Target, Visibility};

/// The body an interaction carries.
#[derive(Debug, Clone)]
pub(crate) enum OpBody {
    /// No body.
    None,
    /// A resource (create, update).
    Resource(Value),
    /// A JSON Patch document.
    Patch(json_patch::Patch),
}

/// One interaction to run.
#[derive(Debug, Clone)]
pub(crate) struct Op {
    /// Interaction and path parts.
    pub target: Target,
    /// Query parameters (search, conditional update/delete/patch).
    pub query: Vec<(String, String)>,
    /// Body.
    pub body: OpBody,
    /// `If-Match`.
    pub if_match: Option<String>,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `If-None-Exist` (query string).
    pub if_none_exist: Option<String>,
    /// `Prefer: handling=strict`.
    pub strict: bool,
}

impl Op {
    /// Whether the interaction writes.
    pub(crate) fn is_write(&self) -> bool {
        self.target.interaction.is_write()
    }
}

fn fail(status: StatusCode, code: IssueCode, msg: impl Into<String>) -> Fail {
    Fail::Client(Answer::error(status, code, msg))
}

/// Runs the search `op`, paging over the matches `visible` admits when given
/// ([`crate::interaction::Visibility`]).
pub(crate) async fn search_for(
    conn: &mut AnyConnection,
    ctx: Ctx,
    op: &Op,
    base_url: &str,
    visible: Option<&Visibility>,
) -> OpResult {
    let rt = op.target.resource_type.as_deref();
    let mut plan = search::plan::parse(rt, &op.query, op.strict)?;
    // Positions are entries by type and id (`cursor::SearchAt`), resolved once the sort is known.
    if let Some(value) = &plan.cursor_sent {
        let at = search::position(conn, &ctx.cursor_key, &plan, value).await?;
        plan.cursor = Some(at.ok_or_else(|| Fail::Client(search::plan::bad("invalid _cursor")))?);
    }
    let (key, budget) = (&ctx.cursor_key, ctx.max_answer_bytes);
    Ok(search::run(conn, &plan, base_url, key, budget, visible).await?)
}

/// Runs `op`; `assigned_id` is the id a transaction chose for a create.
pub(crate) async fn execute(
    conn: &mut AnyConnection,
    ctx: Ctx,
    op: Op,
    base_url: &str,
    assigned_id: Option<String>,
) -> OpResult {
    let t = &op.target;
    let rtype = t.resource_type.as_deref().unwrap_or("");
    let id = t.id.as_deref();
    let resource = || match &op.body {
        OpBody::Resource(v) => Ok(v.clone()),
        _ => Err(fail(
            StatusCode::BAD_REQUEST,
            IssueCode::Required,
            "this interaction needs a resource body",
        )),
    };
    match (t.interaction, id) {
        (Interaction::Read, Some(id)) => {
            ops::read(conn, ctx, rtype, id, op.if_none_match.as_deref()).await
        }
        (Interaction::Vread, Some(id)) => {
            ops::vread(conn, rtype, id, t.version_id.as_deref().unwrap_or("")).await
        }
        (Interaction::Create, _) => {
            ops::create(
                conn,
                rtype,
                resource()?,
                op.if_none_exist.as_deref(),
                assigned_id,
            )
            .await
        }
        (Interaction::Update, Some(id)) => {
            ops::update(conn, ctx, rtype, id, resource()?, op.if_match.as_deref()).await
        }
        (Interaction::Update, None) => {
            let r = resource()?;
            ops::conditional_update(conn, ctx, rtype, &op.query, r, op.if_match.as_deref()).await
        }
        (Interaction::Patch, id) => {
            let OpBody::Patch(p) = &op.body else {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    IssueCode::Required,
                    "PATCH needs a JSON Patch body (application/json-patch+json)",
                ));
            };
            let id = match id {
                Some(id) => id.to_owned(),
                None => ops::one_match(conn, rtype, &op.query)
                    .await?
                    .ok_or_else(|| {
                        fail(
                            StatusCode::NOT_FOUND,
                            IssueCode::NotFound,
                            format!("the condition matches no {rtype}"),
                        )
                    })?,
            };
            patch(conn, ctx, rtype, &id, p, op.if_match.as_deref()).await
        }
        (Interaction::Delete, Some(id)) => {
            ops::delete(conn, ctx, rtype, id, op.if_match.as_deref()).await
        }
        (Interaction::Delete, None) => match ops::one_match(conn, rtype, &op.query).await? {
            Some(id) => ops::delete(conn, ctx, rtype, &id, op.if_match.as_deref()).await,
            None => Ok(Answer::new(
                StatusCode::NO_CONTENT,
                super::answer::Body::None,
            )),
        },
        (Interaction::SearchType | Interaction::SearchSystem, _) => {
            search_for(conn, ctx, &op, base_url, None).await
        }
        (
            Interaction::HistoryInstance | Interaction::HistoryType | Interaction::HistorySystem,
            _,
        ) => {
            let rt = t.resource_type.as_deref();
            let (key, budget) = (&ctx.cursor_key, ctx.max_answer_bytes);
            history(conn, rt, id, &op.query, base_url, key, budget).await
        }
        (other, _) => Err(fail(
            StatusCode::NOT_IMPLEMENTED,
            IssueCode::NotSupported,
            format!(
                "the store does not support the '{}' interaction here",
                other.code()
            ),
        )),
    }
}
