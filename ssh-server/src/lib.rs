//! SSH server: authentication, limits, and one lab session per channel.
