//! The global limit: GCRA as one Lua script per request, atomic in Redis, on Redis's own
//! clock (`TIME`), so every replica spends one budget. Same formulas as [`super::gcra`].

use std::sync::LazyLock;
use std::time::Duration;

use redis::Script;

use super::{Decision, Tier};
use crate::policy::shared::RedisShared;

/// KEYS[1] = tat key; ARGV = emission interval ms, burst, cost (arrivals this request
/// counts as, 1 to burst).
/// Returns {allowed, remaining, retry_after_ms, reset_ms}.
static GCRA: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local emission = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local tau = emission * burst
local tat = tonumber(redis.call('GET', KEYS[1]))
if tat == nil or tat < now then tat = now end
local new_tat = tat + emission * cost
local allow_at = new_tat - tau
if now < allow_at then
  return {0, 0, math.ceil(allow_at - now), math.ceil(tat - now)}
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil(new_tat - now) + 1)
local remaining = math.floor((tau - (new_tat - now)) / emission)
if remaining < 0 then remaining = 0 end
return {1, remaining, 0, math.ceil(new_tat - now)}
",
    )
});

/// Runs the script for `key` and a request of `cost` (1 to the tier's burst) within the
/// configured timeout. Errors: Redis unreachable, timed out or failing — the caller falls
/// back to local limits.
pub async fn check(
    redis: &RedisShared,
    tier_name: &str,
    key: &str,
    tier: Tier,
    cost: u32,
) -> Result<Decision, String> {
    let mut conn = redis
        .connection()
        .await
        .ok_or_else(|| "redis unreachable".to_owned())?;
    let redis_key = format!("{}:rl:{tier_name}:{key}", redis.prefix);
    let emission = 1000.0 / tier.per_second;
    let mut invocation = GCRA.key(redis_key);
    invocation.arg(emission).arg(tier.burst).arg(cost);
    let call = invocation.invoke_async::<Vec<i64>>(&mut conn);
    let answer = match tokio::time::timeout(redis.timeout, call).await {
        Ok(Ok(v)) if v.len() == 4 => v,
        Ok(Ok(_)) => return Err("unexpected script answer".into()),
        Ok(Err(e)) => {
            redis.reset().await;
            return Err(e.to_string());
        }
        Err(_) => {
            redis.timed_out().await;
            return Err("redis timed out".into());
        }
    };
    let ms = |v: i64| Duration::from_millis(u64::try_from(v).unwrap_or(0));
    Ok(Decision {
        allowed: answer[0] == 1,
        limit: tier.burst,
        remaining: u32::try_from(answer[1]).unwrap_or(0),
        retry_after: ms(answer[2]),
        reset: ms(answer[3]),
    })
}
