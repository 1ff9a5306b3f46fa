//! A memory budget per evaluation, as Go's expr has (`MemoryBudget`, 1,000,000 by default).
//!
//! Expressions come from whoever writes a Stage or a PromotionTask, and run on the server.
//! expr-lang (Rust) builds a range's whole list at once, so `len(0..1000000000)` would allocate
//! tens of gigabytes on a runtime worker. Ranges are rewritten to `__range(a, b)` (see
//! `rewrite`), which charges this budget before building anything; `repeat` is charged too.
//! An evaluation that runs out fails with a message naming the budget.

use std::cell::Cell;

use expr::{Environment, Value};

/// Units one evaluation may spend: one per list element a range makes, one per
/// [`BYTES_PER_UNIT`] bytes `repeat` makes (Go's expr charges ranges the same way).
pub const MEMORY_BUDGET: u64 = 1_000_000;
const BYTES_PER_UNIT: u64 = 16;

pub(crate) const RANGE_FUNCTION: &str = "__range";

thread_local! {
    static SPENT: Cell<u64> = const { Cell::new(0) };
}

/// Starts a new evaluation's budget on this thread (evaluation is synchronous).
pub(crate) fn reset() {
    SPENT.with(|spent| spent.set(0));
}

fn charge(units: u64) -> expr::Result<()> {
    SPENT.with(|spent| {
        let total = spent.get().saturating_add(units);
        spent.set(total);
        if total > MEMORY_BUDGET {
            Err(expr::Error::ExprError(format!(
                "memory budget exceeded: the expression builds more than {MEMORY_BUDGET} list elements \
                 (or {} MB of repeated text); narrow the range",
                MEMORY_BUDGET * BYTES_PER_UNIT / 1_000_000
            )))
        } else {
            Ok(())
        }
    })
}

pub(crate) fn register(env: &mut Environment<'_>) {
    env.add_function(RANGE_FUNCTION, |c| {
        let (Some(Value::Integer(start)), Some(Value::Integer(end)), 2) = (c.args.first(), c.args.get(1), c.args.len())
        else {
            return Err(expr::Error::ExprError(format!("invalid range: {:?}", c.args)));
        };
        let (start, end) = (*start, *end);
        let count = if end < start { 0 } else { (end as i128 - start as i128 + 1).min(u64::MAX as i128) as u64 };
        charge(count)?;
        Ok(Value::Array((start..=end).map(Value::Integer).collect()))
    });
    env.add_function("repeat", |c| {
        let (Some(Value::String(text)), Some(Value::Integer(count)), 2) = (c.args.first(), c.args.get(1), c.args.len())
        else {
            return Err(expr::Error::ExprError("repeat() takes a string and an integer".into()));
        };
        let count =
            u64::try_from(*count).map_err(|_| expr::Error::ExprError("repeat() count cannot be negative".into()))?;
        let bytes = (text.len() as u64).saturating_mul(count);
        charge(bytes.div_ceil(BYTES_PER_UNIT))?;
        Ok(Value::String(text.repeat(count as usize)))
    });
}
