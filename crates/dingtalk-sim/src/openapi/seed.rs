//! Demo org: Chinese and English names, two different people both called 张伟 (so name lookups must handle
//! ambiguity), a personal "my documents" workspace per user and one team knowledge base with a document.

use super::OpenApiState;
use super::contacts::SimUser;
use super::markdown;

pub const DEPT_RD: i64 = 100;
pub const DEPT_PRODUCT: i64 = 200;
pub const DEPT_SALES: i64 = 300;

pub fn seed(state: &mut OpenApiState) {
    state.directory.add_department(1, "演示公司");
    state.directory.add_department(DEPT_RD, "研发部");
    state.directory.add_department(DEPT_PRODUCT, "产品部");
    state.directory.add_department(DEPT_SALES, "Sales");
    let users = [
        SimUser::new("zhangwei01", "张伟", "后端工程师", DEPT_RD, "13800000001"),
        SimUser::new(
            "zhangwei02",
            "张伟",
            "产品经理",
            DEPT_PRODUCT,
            "13800000002",
        ),
        SimUser::new("lisi", "李四", "测试工程师", DEPT_RD, "13800000003"),
        SimUser::new("wangfang", "王芳", "设计师", DEPT_PRODUCT, "13800000004"),
        SimUser::new(
            "alice",
            "Alice Chen",
            "Sales Manager",
            DEPT_SALES,
            "13800000005",
        ),
        SimUser::new("alex", "Alex Wang", "Engineer", DEPT_RD, "13800000006"),
        SimUser::new(
            "bob",
            "Bob Smith",
            "Account Executive",
            DEPT_SALES,
            "13800000007",
        ),
    ];
    let team: Vec<String> = users
        .iter()
        .filter(|u| u.dept_id == DEPT_RD)
        .map(|u| u.union_id.clone())
        .collect();
    let author = team.first().cloned().unwrap_or_default();
    for user in users {
        state.add_user(user);
    }
    let ws = state.docs.add_workspace("研发知识库", "TEAM", None, team);
    let root = state
        .docs
        .workspace(&ws)
        .map(|w| w.root_node_id.clone())
        .unwrap_or_default();
    let node = state
        .docs
        .create(&ws, &root, "入职指南 Onboarding", false, &author);
    if let Some(doc) = state.docs.resolve_mut(&node.node_id) {
        doc.blocks = markdown::parse(
            "# 入职指南\n\n欢迎加入研发部。\n\n1. 申请账号\n2. 配置开发环境\n\n> 有问题找李四\n",
        );
    }
}
