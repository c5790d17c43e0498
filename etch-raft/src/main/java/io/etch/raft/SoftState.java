package io.etch.raft;

/** Volatile state worth telling the caller about; not persisted. */
public record SoftState(long leader, StateRole role) {}
