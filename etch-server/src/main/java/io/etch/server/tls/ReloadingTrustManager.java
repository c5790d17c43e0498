package io.etch.server.tls;

import java.io.IOException;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.List;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509ExtendedTrustManager;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The CAs client certificates must chain to ({@code --trusted-ca-file}), re-read when the file
 * changes, checked at each handshake. Verification itself is the JDK's PKIX trust manager.
 */
final class ReloadingTrustManager extends X509ExtendedTrustManager {
  private static final Logger log = LoggerFactory.getLogger(ReloadingTrustManager.class);

  private final Path caFile;

  private record Loaded(FileTime time, X509ExtendedTrustManager delegate) {}

  private volatile Loaded loaded;

  ReloadingTrustManager(Path caFile) throws IOException {
    this.caFile = caFile;
    this.loaded = load();
  }

  private Loaded load() throws IOException {
    FileTime t = Files.getLastModifiedTime(caFile);
    List<X509Certificate> cas = PemFiles.certificates(caFile);
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      for (int i = 0; i < cas.size(); i++) {
        ks.setCertificateEntry("ca" + i, cas.get(i));
      }
      TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
      tmf.init(ks);
      for (TrustManager tm : tmf.getTrustManagers()) {
        if (tm instanceof X509ExtendedTrustManager x) {
          return new Loaded(t, x);
        }
      }
      throw new IOException("no X.509 trust manager");
    } catch (GeneralSecurityException e) {
      throw new IOException(caFile + ": " + e.getMessage(), e);
    }
  }

  private X509ExtendedTrustManager current() {
    Loaded l = loaded;
    try {
      if (!Files.getLastModifiedTime(caFile).equals(l.time())) {
        synchronized (this) {
          l = loaded = load();
        }
        log.info("reloaded trusted CA file {}", caFile);
      }
    } catch (IOException e) {
      log.warn(
          "cannot reload trusted CA file {}: {}; using the previous one", caFile, e.toString());
    }
    return l.delegate();
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    current().checkClientTrusted(chain, authType, engine);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    current().checkClientTrusted(chain, authType, socket);
  }

  @Override
  public void checkClientTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    current().checkClientTrusted(chain, authType);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
      throws CertificateException {
    current().checkServerTrusted(chain, authType, engine);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
      throws CertificateException {
    current().checkServerTrusted(chain, authType, socket);
  }

  @Override
  public void checkServerTrusted(X509Certificate[] chain, String authType)
      throws CertificateException {
    current().checkServerTrusted(chain, authType);
  }

  @Override
  public X509Certificate[] getAcceptedIssuers() {
    return current().getAcceptedIssuers();
  }
}
