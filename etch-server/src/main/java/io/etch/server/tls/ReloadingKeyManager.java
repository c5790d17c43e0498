package io.etch.server.tls;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The member's certificate and key, re-read from their files when either changes (checked at each
 * handshake, as etcd loads them per handshake), so a rotated certificate is served without a
 * restart. A change that cannot be read (half-written) keeps the previous pair until it can.
 */
final class ReloadingKeyManager extends X509ExtendedKeyManager {
  private static final Logger log = LoggerFactory.getLogger(ReloadingKeyManager.class);
  private static final String ALIAS = "etch";

  private final Path certFile;
  private final Path keyFile;

  private record Loaded(FileTime certTime, FileTime keyTime, X509ExtendedKeyManager delegate) {}

  private volatile Loaded loaded;

  ReloadingKeyManager(Path certFile, Path keyFile) throws IOException {
    this.certFile = certFile;
    this.keyFile = keyFile;
    this.loaded = load();
  }

  private Loaded load() throws IOException {
    FileTime ct = Files.getLastModifiedTime(certFile);
    FileTime kt = Files.getLastModifiedTime(keyFile);
    List<X509Certificate> chain = PemFiles.certificates(certFile);
    PrivateKey key = PemFiles.privateKey(keyFile);
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry(ALIAS, key, new char[0], chain.toArray(new X509Certificate[0]));
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, new char[0]);
      return new Loaded(ct, kt, (X509ExtendedKeyManager) kmf.getKeyManagers()[0]);
    } catch (GeneralSecurityException e) {
      throw new IOException(certFile + ", " + keyFile + ": " + e.getMessage(), e);
    }
  }

  private X509ExtendedKeyManager current() {
    Loaded l = loaded;
    try {
      if (!Files.getLastModifiedTime(certFile).equals(l.certTime())
          || !Files.getLastModifiedTime(keyFile).equals(l.keyTime())) {
        synchronized (this) {
          l = loaded = load();
        }
        log.info("reloaded TLS certificate {}", certFile);
      }
    } catch (IOException | UncheckedIOException e) {
      log.warn(
          "cannot reload TLS certificate {}: {}; serving the previous one", certFile, e.toString());
    }
    return l.delegate();
  }

  @Override
  public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
    return current().chooseEngineServerAlias(keyType, issuers, engine);
  }

  @Override
  public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
    return current().chooseServerAlias(keyType, issuers, socket);
  }

  @Override
  public X509Certificate[] getCertificateChain(String alias) {
    return loaded.delegate().getCertificateChain(alias);
  }

  @Override
  public PrivateKey getPrivateKey(String alias) {
    return loaded.delegate().getPrivateKey(alias);
  }

  @Override
  public String[] getServerAliases(String keyType, Principal[] issuers) {
    return loaded.delegate().getServerAliases(keyType, issuers);
  }

  // The client side: a member dialling its peers presents the same (re-read) certificate.

  @Override
  public String[] getClientAliases(String keyType, Principal[] issuers) {
    return loaded.delegate().getClientAliases(keyType, issuers);
  }

  @Override
  public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
    return current().chooseClientAlias(keyType, issuers, socket);
  }

  @Override
  public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
    return current().chooseEngineClientAlias(keyType, issuers, engine);
  }
}
