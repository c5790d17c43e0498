/** Persistent lease records (the lessor lives in the server). */
package io.etch.storage.lease;
