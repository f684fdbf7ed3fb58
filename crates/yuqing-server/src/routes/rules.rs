//! Watch rules (监测规则): editing, enabling, backtests, and resetting what 误报 taught.

use super::{
    Access::{Roles, SignedIn},
    Routes,
};
use crate::auth::policy::OFFICE;

pub fn routes() -> Routes {
    Routes::new()
        .get("/rules", SignedIn, "查看与试运行监测规则", crate::web::rules_page::rules_page)
        .post("/rules", Roles(OFFICE), "保存监测规则", crate::web::rules_page::save)
        .post("/rules/enabled", Roles(OFFICE), "启用或停用监测规则", crate::web::rules_page::set_enabled)
        .post("/rules/backtest", Roles(OFFICE), "回测监测规则", crate::backtest::run)
        .post("/rules/relevance/reset", Roles(OFFICE), "重置误报学习", crate::web::false_alarm::reset_form)
}
