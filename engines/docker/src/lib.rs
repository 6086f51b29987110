//! Docker engine: containers through bollard, isolated per session; the offline image pipeline.
