//! PromotionTask and ClusterPromotionTask.

use convoy_api::{FieldPath, PromotionTask};

use super::{StepList, check_steps, check_vars};
use crate::problem::Problems;

pub(crate) fn validate(task: &PromotionTask, problems: &mut Problems) {
    let spec = FieldPath::root("spec");
    check_vars(&spec.child("vars"), &task.spec.vars, problems);
    check_steps(&spec.child("steps"), &task.spec.steps, StepList::Task, problems);
}
