//! `kgate diff --format json`: the plan as the stable shape documented in `crate::plan`.

use crate::plan::Plan;

pub fn render(plan: &Plan) -> String {
    let mut s =
        serde_json::to_string_pretty(plan).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    s.push('\n');
    s
}
