//! localcord: a local Discord-compatible server. (In progress.)
