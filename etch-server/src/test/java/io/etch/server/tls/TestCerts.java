package io.etch.server.tls;

import java.io.IOException;
import java.io.StringWriter;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/** A CA and certificates it signs, generated with Bouncy Castle and written as PEM files. */
public final class TestCerts {
  private static final AtomicLong SERIAL = new AtomicLong(System.nanoTime());

  final KeyPair caKeys;
  final X509Certificate ca;

  private TestCerts(KeyPair caKeys, X509Certificate ca) {
    this.caKeys = caKeys;
    this.ca = ca;
  }

  static KeyPair keys() throws Exception {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(256);
    return g.generateKeyPair();
  }

  public static TestCerts newCa(String name) throws Exception {
    KeyPair k = keys();
    X500Name subject = new X500Name("CN=" + name);
    X509v3CertificateBuilder b = builder(subject, subject, k);
    b.addExtension(Extension.basicConstraints, true, new BasicConstraints(true));
    return new TestCerts(k, sign(b, k));
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair k) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        BigInteger.valueOf(SERIAL.incrementAndGet()),
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(Duration.ofDays(1))),
        subject,
        k.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, KeyPair signer) throws Exception {
    return new JcaX509CertificateConverter()
        .getCertificate(
            b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer.getPrivate())));
  }

  /** A certificate for {@code cn}, valid for 127.0.0.1, usable by servers and clients. */
  public Files2 issue(String cn, Path dir, String fileBase) throws Exception {
    return issueSubject("CN=" + cn, dir, fileBase);
  }

  /** As {@link #issue}, for any subject (e.g. "O=etch", a certificate without a common name). */
  public Files2 issueSubject(String subject, Path dir, String fileBase) throws Exception {
    KeyPair k = keys();
    X509v3CertificateBuilder b =
        builder(new X500Name(ca.getSubjectX500Principal().getName()), new X500Name(subject), k);
    b.addExtension(
        Extension.subjectAlternativeName,
        false,
        new GeneralNames(
            new GeneralName[] {
              new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
              new GeneralName(GeneralName.dNSName, "localhost")
            }));
    b.addExtension(
        Extension.extendedKeyUsage,
        false,
        new ExtendedKeyUsage(
            new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}));
    X509Certificate cert = sign(b, caKeys);
    Path certFile = dir.resolve(fileBase + ".crt");
    Path keyFile = dir.resolve(fileBase + ".key");
    writeAtomically(certFile, pem(cert));
    writeAtomically(keyFile, pem(new JcaPKCS8Generator(k.getPrivate(), null).generate()));
    return new Files2(certFile, keyFile);
  }

  public Path writeCa(Path file) throws IOException {
    writeAtomically(file, pem(ca));
    return file;
  }

  public record Files2(Path cert, Path key) {}

  static String pem(Object o) throws IOException {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter p = new JcaPEMWriter(w)) {
      p.writeObject(o);
    }
    return w.toString();
  }

  /** Rotation as an operator does it: a new file renamed over the old. */
  static void writeAtomically(Path file, String content) throws IOException {
    Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
    Files.writeString(tmp, content);
    Files.move(
        tmp,
        file,
        java.nio.file.StandardCopyOption.REPLACE_EXISTING,
        java.nio.file.StandardCopyOption.ATOMIC_MOVE);
  }
}
