//! Daily budgets in Redis: agent turns per chat and tokens per agent. Keys carry the UTC date and
//! expire after two days, so counters survive a restart of every node (they live in Redis, not
//! in a process) and reset each day without a sweeper.

use chrono::Utc;
use redis::AsyncCommands;

use crate::context::AppContext;
use crate::domain::{ChatId, OrganizationId};

const TTL_SECS: i64 = 2 * 24 * 3600;

/// Today's counts as a turn starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TurnCount {
    /// Turns of this chat today, this one included.
    pub turns: u64,
    /// Tokens the agent spent today before this turn.
    pub tokens_spent: u64,
}

/// The daily counters of one agent in one chat.
pub struct BudgetKeys {
    turns: String,
    tokens: String,
}

impl BudgetKeys {
    /// Today's keys for this chat and agent.
    pub fn today(ctx: &AppContext, org: OrganizationId, chat: ChatId, agent: &str) -> Self {
        let day = Utc::now().format("%Y%m%d");
        Self {
            turns: ctx.redis_key(&format!("budget:turns:{org}:{chat}:{day}")),
            tokens: ctx.redis_key(&format!("budget:tokens:{org}:{agent}:{day}")),
        }
    }

    /// Today's token counter of the agent alone, for work outside a chat (pitches): the same
    /// counter its turns spend from. Its turn counter is one no chat uses.
    pub fn for_agent(ctx: &AppContext, org: OrganizationId, agent: &str) -> Self {
        let day = Utc::now().format("%Y%m%d");
        Self {
            turns: ctx.redis_key(&format!("budget:turns:{org}:no-chat:{day}")),
            tokens: ctx.redis_key(&format!("budget:tokens:{org}:{agent}:{day}")),
        }
    }

    /// Tokens spent today by the agent.
    pub async fn tokens_spent(&self, ctx: &AppContext) -> redis::RedisResult<u64> {
        let spent: Option<u64> = ctx.redis().get(&self.tokens).await?;
        Ok(spent.unwrap_or(0))
    }

    /// Counts a turn and reads the agent's tokens spent today, in one atomic round trip.
    pub async fn take_turn(&self, ctx: &AppContext) -> redis::RedisResult<TurnCount> {
        let mut redis = ctx.redis();
        let (turns, tokens_spent): (u64, Option<u64>) = redis::pipe()
            .atomic()
            .incr(&self.turns, 1)
            .expire(&self.turns, TTL_SECS)
            .ignore()
            .get(&self.tokens)
            .query_async(&mut redis)
            .await?;
        Ok(TurnCount {
            turns,
            tokens_spent: tokens_spent.unwrap_or(0),
        })
    }

    /// Adds spent tokens.
    pub async fn spend_tokens(&self, ctx: &AppContext, tokens: u64) -> redis::RedisResult<()> {
        if tokens == 0 {
            return Ok(());
        }
        let mut redis = ctx.redis();
        let _: () = redis::pipe()
            .atomic()
            .incr(&self.tokens, tokens)
            .ignore()
            .expire(&self.tokens, TTL_SECS)
            .ignore()
            .query_async(&mut redis)
            .await?;
        Ok(())
    }
}
