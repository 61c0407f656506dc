//! Recognising a command that failed because the network is off.
