package io.etch.embedded;

import java.io.IOException;
import java.io.InputStream;
import java.net.JarURLConnection;
import java.net.URL;
import java.net.URLConnection;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.jar.JarEntry;
import org.rocksdb.RocksDB;
import org.rocksdb.util.Environment;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Loads RocksDB's native library from a per-user cache instead of the jar. rocksdbjni extracts its
 * ~15 MB library from the jar into a new temporary file in every JVM, which was the largest single
 * part of a cluster's first start in a JVM (1-2 s on a loaded 2-core machine). The cache holds one
 * copy per library version, named by the jar entry's CRC and size, written under a temporary name
 * and moved into place, so concurrent JVMs share it safely. Where the cache cannot be used, RocksDB
 * loads its library the usual way.
 */
final class RocksDbLibrary {
  private static final Logger log = LoggerFactory.getLogger(RocksDbLibrary.class);

  /** System property naming the cache directory (default ~/.cache/etch-embedded). */
  static final String CACHE_PROPERTY = "etch.embedded.native-cache";

  private static boolean loaded;

  private RocksDbLibrary() {}

  static synchronized void load() {
    if (loaded) {
      return;
    }
    loaded = true;
    try {
      Path dir = cached();
      if (dir != null) {
        RocksDB.loadLibrary(List.of(dir.toString()));
      }
    } catch (IOException | RuntimeException | LinkageError e) {
      log.debug("RocksDB's library cache not used: {}", e.toString());
    }
  }

  /** The directory holding the cached library, filled first if needed; null if not cacheable. */
  private static Path cached() throws IOException {
    String resource = Environment.getJniLibraryFileName("rocksdb");
    URL url = RocksDbLibrary.class.getClassLoader().getResource(resource);
    if (url == null) {
      return null;
    }
    URLConnection conn = url.openConnection();
    if (!(conn instanceof JarURLConnection jar)) {
      return null;
    }
    JarEntry entry = jar.getJarEntry();
    if (entry.getCrc() < 0 || entry.getSize() < 0) {
      return null;
    }
    Path dir =
        cacheRoot()
            .resolve("rocksdbjni-" + Long.toHexString(entry.getCrc()) + "-" + entry.getSize());
    // The name RocksDB.loadLibrary(paths) looks for in each directory.
    Path lib = dir.resolve(Environment.getJniLibraryFileName("rocksdbjni"));
    if (Files.isRegularFile(lib) && Files.size(lib) == entry.getSize()) {
      return dir;
    }
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "extract-", ".tmp");
    try (InputStream in = conn.getInputStream()) {
      Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
      Files.move(tmp, lib, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
    return dir;
  }

  private static Path cacheRoot() {
    String configured = System.getProperty(CACHE_PROPERTY);
    if (configured != null && !configured.isEmpty()) {
      return Path.of(configured);
    }
    String xdg = System.getenv("XDG_CACHE_HOME");
    Path base =
        xdg != null && !xdg.isEmpty()
            ? Path.of(xdg)
            : Path.of(System.getProperty("user.home"), ".cache");
    return base.resolve("etch-embedded");
  }
}
