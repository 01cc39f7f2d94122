package org.smartfin.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.event.EventListener;
import org.springframework.core.env.Environment;

/**
 * Entry point of the SmartFin process engine.
 *
 * <p>Checks the required environment before Spring starts, so that a missing
 * secret is reported in one clear line instead of a long stack trace, and
 * derives the default embedded H2 URL from {@code SMARTFIN_VAR_DIR}.
 */
@SpringBootApplication
@EnableConfigurationProperties(SmartFinProperties.class)
public class SmartFinEngineApplication {

  private static final Logger LOG = LoggerFactory.getLogger(SmartFinEngineApplication.class);

  static final String[] REQUIRED_ENV = {
      "SMARTFIN_ENGINE_ADMIN_PASSWORD",
      "SMARTFIN_ENGINE_SERVICE_PASSWORD",
  };

  public static void main(String[] args) {
    List<String> missing = new ArrayList<>();
    for (String name : REQUIRED_ENV) {
      String value = System.getenv(name);
      if (value == null || value.isBlank()) {
        missing.add(name);
      }
    }
    if (!missing.isEmpty()) {
      System.err.println("SmartFin engine cannot start: required environment variable(s) not set: "
          + String.join(", ", missing) + ". See engine/README.md.");
      System.exit(2);
    }

    if (isBlank(System.getenv("SMARTFIN_ENGINE_JDBC_URL"))) {
      restrictDatabaseDirectory(h2Directory(System.getenv("SMARTFIN_VAR_DIR")));
    }
    SpringApplication app = new SpringApplication(SmartFinEngineApplication.class);
    app.setDefaultProperties(defaultProperties());
    app.run(args);
  }

  static Map<String, Object> defaultProperties() {
    Map<String, Object> props = new HashMap<>();
    props.put("smartfin.engine.h2-url", h2Url(System.getenv("SMARTFIN_VAR_DIR")));
    return props;
  }

  static Path h2Directory(String varDir) {
    String base = (varDir == null || varDir.isBlank()) ? "var" : varDir.trim();
    return Path.of(base).toAbsolutePath().normalize().resolve("engine");
  }

  /**
   * The H2 files hold password hashes and every process variable: the directory is made
   * owner-only (0700) and files already in it 0600, before H2 opens them. Java cannot set the
   * process umask, so new files get the launcher's umask (the launcher should pass 077); the
   * 0700 directory keeps them private either way. Not POSIX (Windows): left as is.
   */
  static void restrictDatabaseDirectory(Path dir) {
    try {
      Files.createDirectories(dir);
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      try (var files = Files.list(dir)) {
        for (Path f : (Iterable<Path>) files::iterator) {
          if (Files.isRegularFile(f)) {
            Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
          }
        }
      }
    } catch (UnsupportedOperationException e) {
      // not a POSIX file system
    } catch (IOException e) {
      System.err.println("SmartFin engine: could not restrict " + dir + ": " + e.getMessage());
    }
  }

  private static boolean isBlank(String s) {
    return s == null || s.isBlank();
  }

  /** H2 file URL below {@code <varDir>/engine}; the path is made absolute. */
  static String h2Url(String varDir) {
    Path dir = h2Directory(varDir);
    String path = dir.resolve("process-engine").toString().replace('\\', '/');
    return "jdbc:h2:" + path + ";TRACE_LEVEL_FILE=0;DB_CLOSE_ON_EXIT=FALSE";
  }

  @EventListener(ApplicationReadyEvent.class)
  public void ready(ApplicationReadyEvent event) {
    Environment env = event.getApplicationContext().getEnvironment();
    LOG.info("SmartFin engine ready: port={} rest=/engine-rest webapps={}",
        env.getProperty("local.server.port", env.getProperty("server.port", "8080")),
        env.getProperty("smartfin.engine.webapp-path"));
  }
}
