/** Persistent cluster membership records. */
package io.etch.storage.membership;
