package io.etch.storage.mvcc;

import java.util.List;

/**
 * Events read from history, in revision order, never splitting one revision's events. {@code
 * nextRevision} is where the next read continues (one past the last revision included).
 */
public record EventPage(List<Event> events, long nextRevision) {}
