//! Live collaboration: one doc room per open workflow doc is that doc's only writer on a node, speaks
//! the y-websocket protocol, appends every accepted update to the durable log and fans run events
//! out to subscribers. The rooms arrive with the realtime issue; today this crate only states its
//! place.
