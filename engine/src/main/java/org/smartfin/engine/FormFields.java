package org.smartfin.engine;

import java.io.IOException;
import java.io.InputStream;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * The variables a Camunda Form (form-js JSON, {@code .form}) submits, and which of them are
 * read-only. Engine-neutral: it only reads the form's JSON.
 *
 * <p>A component with a {@code key} submits the variable named by the key's first segment
 * ({@code a.b} → {@code a}). A group or dynamic list with a {@code path} submits one variable
 * (the path's first segment) holding everything inside it; a group without a path adds its
 * children's keys at the top level. A field is read-only when {@code readonly} or
 * {@code disabled} is {@code true} or an expression (an expression may make it read-only, so
 * it is treated as read-only); a path container is read-only when it is, or when every field
 * inside it is.
 *
 * @param formId the form's {@code id}
 * @param fields variable name → read-only
 */
record FormFields(String formId, Map<String, Boolean> fields) {

  private static final ObjectMapper JSON = new ObjectMapper();

  static final FormFields NONE = new FormFields(null, Map.of());

  boolean declares(String name) {
    return fields.containsKey(name);
  }

  boolean readOnly(String name) {
    return Boolean.TRUE.equals(fields.get(name));
  }

  Set<String> names() {
    return fields.keySet();
  }

  static FormFields read(InputStream in) throws IOException {
    return parse(JSON.readTree(in));
  }

  static FormFields parse(String json) throws IOException {
    return parse(JSON.readTree(json));
  }

  static FormFields parse(JsonNode root) {
    Map<String, Boolean> fields = new LinkedHashMap<>();
    collect(root.path("components"), fields);
    return new FormFields(root.path("id").asText(null), Collections.unmodifiableMap(fields));
  }

  private static void collect(JsonNode components, Map<String, Boolean> into) {
    if (!components.isArray()) {
      return;
    }
    for (JsonNode c : components) {
      boolean readOnly = readOnlyFlag(c);
      String path = text(c, "path");
      if (path != null && c.has("components")) {
        add(into, firstSegment(path), readOnly || allReadOnly(c.path("components")));
        continue;
      }
      String key = text(c, "key");
      if (key != null) {
        add(into, firstSegment(key), readOnly);
      }
      if (c.has("components")) {
        collect(c.path("components"), into);
      }
    }
  }

  /** A name declared twice is read-only only if it is read-only everywhere. */
  private static void add(Map<String, Boolean> into, String name, boolean readOnly) {
    into.merge(name, readOnly, (a, b) -> a && b);
  }

  private static boolean allReadOnly(JsonNode components) {
    boolean any = false;
    for (JsonNode c : components) {
      if (c.has("key") || c.has("path")) {
        any = true;
        if (!readOnlyFlag(c) && !(c.has("components") && allReadOnly(c.path("components")))) {
          return false;
        }
      } else if (c.has("components") && !allReadOnly(c.path("components"))) {
        return false;
      }
    }
    return any;
  }

  private static boolean readOnlyFlag(JsonNode c) {
    return flag(c.get("readonly")) || flag(c.get("disabled"));
  }

  private static boolean flag(JsonNode value) {
    if (value == null || value.isNull()) {
      return false;
    }
    if (value.isBoolean()) {
      return value.booleanValue();
    }
    String text = value.asText("").trim();
    return !text.isEmpty() && !"false".equalsIgnoreCase(text);
  }

  private static String text(JsonNode c, String field) {
    JsonNode v = c.get(field);
    if (v == null || !v.isTextual() || v.asText().isBlank()) {
      return null;
    }
    return v.asText().trim();
  }

  private static String firstSegment(String path) {
    int dot = path.indexOf('.');
    return dot < 0 ? path : path.substring(0, dot);
  }
}
