//! What the engine asks the control plane while it compiles a run: the account's
//! connections' types and packages' flow types.

use async_trait::async_trait;
use catalog::Store;
use engine::package::FlowType;
use engine::validate::Inventory;

pub struct Account {
    pub store: Store,
    pub account_id: i64,
}

#[async_trait]
impl Inventory for Account {
    async fn connection_type(&self, id: i64) -> Option<String> {
        self.store
            .connection(self.account_id, id)
            .await
            .ok()
            .map(|c| c.kind)
    }

    async fn package_flow_type(&self, id: i64) -> Option<FlowType> {
        let p = self.store.package(self.account_id, id).await.ok()?;
        FlowType::parse(&p.summary.flow_type)
    }
}
