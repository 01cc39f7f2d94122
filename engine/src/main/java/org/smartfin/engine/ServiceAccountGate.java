package org.smartfin.engine;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * Verifies the service account's password against the configured secret
 * ({@code SMARTFIN_ENGINE_SERVICE_PASSWORD}) in constant time, without the engine's login
 * lockout: anyone who knows the account's name could otherwise lock it with a few wrong
 * passwords and stop every worker.
 *
 * <p>Failed attempts are counted per source address. Beyond
 * {@code smartfin.guard.service-failed-logins-per-minute} in a minute, that address is reported
 * (one warning per minute) and its further wrong attempts are refused without more work. The right secret
 * is never refused: an attacker sharing the workers' address (the same host, a proxy) must not
 * be able to shut them out, which is the very attack this class exists for. Guessing the
 * secret (24 random bytes) is not a practical threat; the limit keeps the work and the log
 * bounded.
 *
 * <p>Engine-neutral: used by the REST authentication ({@link RestAuthenticationConfig}) and
 * by the write guard for every other password check ({@link WriteGuardPlugin}).
 */
@Component
public class ServiceAccountGate {

  private static final Logger LOG = LoggerFactory.getLogger(ServiceAccountGate.class);
  private static final long WINDOW_MS = 60_000;

  /** Result of one attempt. */
  enum Verdict { ACCEPTED, REFUSED, THROTTLED }

  private final String serviceId;
  private final byte[] secretDigest;
  private final int failuresPerMinute;
  private final Map<String, Deque<Long>> failures = new ConcurrentHashMap<>();
  private final Map<String, Long> lastWarning = new ConcurrentHashMap<>();

  public ServiceAccountGate(SmartFinProperties props) {
    this.serviceId = props.getService().getId();
    String secret = props.getService().getPassword();
    this.secretDigest = secret == null || secret.isEmpty() ? null : digest(secret);
    this.failuresPerMinute = Math.max(1, props.getGuard().getServiceFailedLoginsPerMinute());
  }

  String serviceId() {
    return serviceId;
  }

  /** True for the service account's id in any letter case (a case-insensitive database would match it). */
  boolean isServiceAccount(String userId) {
    return userId != null && serviceId != null && serviceId.toLowerCase(Locale.ROOT)
        .equals(userId.toLowerCase(Locale.ROOT));
  }

  /** Constant-time comparison of the password with the configured secret (exact id only). */
  boolean matches(String userId, String password) {
    if (secretDigest == null || password == null || userId == null || !userId.equals(serviceId)) {
      // still spend the same time
      MessageDigest.isEqual(digest(password == null ? "" : password), digest(""));
      return false;
    }
    return MessageDigest.isEqual(digest(password), secretDigest);
  }

  /** A login attempt for the service account from {@code address}. */
  Verdict attempt(String userId, String password, String address) {
    if (matches(userId, password)) {
      return Verdict.ACCEPTED;
    }
    String key = address == null ? "?" : address;
    long now = System.currentTimeMillis();
    Deque<Long> times = failures.computeIfAbsent(key, k -> new ArrayDeque<>());
    int count;
    synchronized (times) {
      while (!times.isEmpty() && now - times.peekFirst() > WINDOW_MS) {
        times.pollFirst();
      }
      if (times.size() <= failuresPerMinute) {
        times.addLast(now);
      }
      count = times.size();
    }
    if (failures.size() > 10_000) {
      failures.clear(); // bounded memory under an address-spraying attack
    }
    if (count > failuresPerMinute) {
      Long last = lastWarning.get(key);
      if (last == null || now - last > WINDOW_MS) {
        lastWarning.put(key, now);
        LOG.warn("Repeated wrong passwords for the service account {} from {} (the account is not locked)", serviceId, key);
      }
      return Verdict.THROTTLED;
    }
    return Verdict.REFUSED;
  }

  private static byte[] digest(String value) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(value.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
