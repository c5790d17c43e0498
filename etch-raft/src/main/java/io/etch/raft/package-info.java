/** Raft consensus as a pure, deterministic state machine. */
package io.etch.raft;
