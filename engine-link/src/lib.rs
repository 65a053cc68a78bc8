//! The link between orchestration and step execution: one step in, one result out. It knows
//! nothing of runs or actors. The `Engine` trait, the versioned step protocol, the embedded engine
//! and the remote client arrive with the engine issue; today this crate only states its place.
