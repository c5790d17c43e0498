package io.etch.server.auth;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.crypto.RSASSAVerifier;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import io.etch.server.config.GoDuration;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.interfaces.ECPrivateKey;
import java.security.interfaces.ECPublicKey;
import java.security.interfaces.RSAPublicKey;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.Date;
import java.util.Map;
import java.util.Set;

/**
 * etcd's JWT tokens ({@code --auth-token jwt,pub-key=...,priv-key=...,sign-method=RS256[,ttl=5m]}):
 * claims {@code username}, {@code revision} (the auth revision when issued) and {@code exp}, signed
 * with the member's key; every member holding the public key verifies any member's token. A token
 * issued before a change of users, roles or permissions carries an older revision and is refused
 * with {@code revision of auth store is old}. Keys are PEM files: PKCS#8 private keys ({@code BEGIN
 * PRIVATE KEY}) and X.509 public keys ({@code BEGIN PUBLIC KEY}). Thread-safe.
 */
final class JwtTokens implements TokenProvider {
  private static final Set<String> RSA =
      Set.of("RS256", "RS384", "RS512", "PS256", "PS384", "PS512");
  private static final Set<String> EC = Set.of("ES256", "ES384", "ES512");

  private final JWSAlgorithm algorithm;
  private final JWSSigner signer;
  private final JWSVerifier verifier;
  private final Duration ttl;
  private final Clock clock;

  JwtTokens(JWSAlgorithm algorithm, PublicKey pub, PrivateKey priv, Duration ttl, Clock clock)
      throws JOSEException {
    this.algorithm = algorithm;
    this.ttl = ttl;
    this.clock = clock;
    if (pub instanceof RSAPublicKey rsa) {
      verifier = new RSASSAVerifier(rsa);
      signer = new RSASSASigner(priv);
    } else if (pub instanceof ECPublicKey ec) {
      verifier = new ECDSAVerifier(ec);
      signer = new ECDSASigner((ECPrivateKey) priv);
    } else {
      throw new IllegalArgumentException("auth: unsupported key type " + pub.getAlgorithm());
    }
  }

  /** From {@code --auth-token jwt,...}'s options, as etcd reads them. */
  static JwtTokens fromOptions(Map<String, String> opts) {
    String method = opts.getOrDefault("sign-method", "");
    if (!RSA.contains(method) && !EC.contains(method)) {
      throw new IllegalArgumentException(
          "auth: invalid auth signature method \"" + method + "\" (want one of RS*, PS*, ES*)");
    }
    String pubPath = opts.get("pub-key");
    String privPath = opts.get("priv-key");
    if (pubPath == null || privPath == null) {
      throw new IllegalArgumentException("auth: missing key data (pub-key and priv-key)");
    }
    Duration ttl =
        opts.containsKey("ttl") ? GoDuration.parse(opts.get("ttl")) : Duration.ofMinutes(5);
    String keyType = RSA.contains(method) ? "RSA" : "EC";
    try {
      KeyFactory kf = KeyFactory.getInstance(keyType);
      PublicKey pub =
          kf.generatePublic(new X509EncodedKeySpec(pem(Path.of(pubPath), "PUBLIC KEY")));
      PrivateKey priv =
          kf.generatePrivate(new PKCS8EncodedKeySpec(pem(Path.of(privPath), "PRIVATE KEY")));
      return new JwtTokens(JWSAlgorithm.parse(method), pub, priv, ttl, Clock.systemUTC());
    } catch (IOException | GeneralSecurityException | JOSEException e) {
      throw new IllegalArgumentException("auth: cannot load JWT keys: " + e.getMessage(), e);
    }
  }

  private static byte[] pem(Path file, String type) throws IOException {
    String text = Files.readString(file);
    String begin = "-----BEGIN " + type + "-----";
    String end = "-----END " + type + "-----";
    int b = text.indexOf(begin);
    int e = text.indexOf(end);
    if (b < 0 || e < b) {
      throw new IOException(file + ": no \"" + begin + "\" block (convert with openssl pkcs8)");
    }
    return Base64.getMimeDecoder().decode(text.substring(b + begin.length(), e));
  }

  @Override
  public String assign(String prefix, long index, String user, long revision) {
    JWTClaimsSet claims =
        new JWTClaimsSet.Builder()
            .claim("username", user)
            .claim("revision", revision)
            .expirationTime(Date.from(clock.instant().plus(ttl)))
            .build();
    SignedJWT jwt = new SignedJWT(new JWSHeader(algorithm), claims);
    try {
      jwt.sign(signer);
    } catch (JOSEException e) {
      throw new IllegalStateException("cannot sign a JWT", e);
    }
    return jwt.serialize();
  }

  @Override
  public AuthInfo info(String token, long currentRevision) {
    try {
      SignedJWT jwt = SignedJWT.parse(token);
      if (!jwt.getHeader().getAlgorithm().equals(algorithm) || !jwt.verify(verifier)) {
        return null;
      }
      JWTClaimsSet c = jwt.getJWTClaimsSet();
      Date exp = c.getExpirationTime();
      Object user = c.getClaim("username");
      Object rev = c.getClaim("revision");
      if (exp == null
          || !exp.toInstant().isAfter(clock.instant())
          || !(user instanceof String)
          || !(rev instanceof Number)) {
        return null;
      }
      return new AuthInfo((String) user, ((Number) rev).longValue());
    } catch (ParseException | JOSEException | RuntimeException e) {
      return null;
    }
  }

  @Override
  public void invalidateUser(String user) {
    // A JWT cannot be recalled; the auth revision it carries goes stale instead.
  }

  @Override
  public void clear() {}
}
