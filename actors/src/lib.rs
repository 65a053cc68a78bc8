//! The supervision tree: every workflow, run, webhook source and schedule is a supervised ractor
//! actor that talks to stores only through `aos-persistence`. The actors arrive with the actors
//! issue; today this crate only states its place.
