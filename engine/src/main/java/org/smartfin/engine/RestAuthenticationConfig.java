package org.smartfin.engine;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.EnumSet;

import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.rest.security.auth.AuthenticationResult;
import org.camunda.bpm.engine.rest.security.auth.ProcessEngineAuthenticationFilter;
import org.camunda.bpm.engine.rest.security.auth.impl.HttpBasicAuthenticationProvider;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * HTTP basic authentication for the engine REST API. {@code GET /engine-rest/engine}
 * stays anonymous (the filter lets it through), everything else needs a user.
 * Async support is required for long-polling fetchAndLock.
 *
 * <p>The service account is verified by {@link ServiceAccountGate} (constant time, configured
 * secret, no engine lockout, repeated wrong attempts per source address logged once a minute); every other user goes
 * through the engine's identity service and its normal lockout. The webapps (Tasklist, Cockpit,
 * Admin) refuse the service account's login before any password is checked: it is a machine
 * account.
 */
@Configuration
public class RestAuthenticationConfig {

  @Bean
  public FilterRegistrationBean<ProcessEngineAuthenticationFilter> restAuthenticationFilter(
      @Value("${spring.jersey.application-path:/engine-rest}") String restPath, ServiceAccountGate gate) {
    String base = restPath.endsWith("/") ? restPath.substring(0, restPath.length() - 1) : restPath;
    FilterRegistrationBean<ProcessEngineAuthenticationFilter> reg =
        new FilterRegistrationBean<>(new GatedAuthenticationFilter(gate));
    reg.setName("smartfin-rest-authentication");
    reg.addUrlPatterns(base + "/*");
    reg.addInitParameter(ProcessEngineAuthenticationFilter.AUTHENTICATION_PROVIDER_PARAM,
        HttpBasicAuthenticationProvider.class.getName());
    reg.addInitParameter(ProcessEngineAuthenticationFilter.SERVLET_PATH_PREFIX, base);
    reg.setAsyncSupported(true);
    reg.setDispatcherTypes(EnumSet.of(DispatcherType.REQUEST));
    reg.setOrder(10);
    return reg;
  }

  /** Refuses webapp logins (…/api/admin/auth/user/{engine}/login/{app}) as the service account. */
  @Bean
  public FilterRegistrationBean<Filter> webappServiceLoginRefusal(
      @Value("${smartfin.engine.webapp-path:/camunda}") String webappPath, ServiceAccountGate gate) {
    String base = webappPath.endsWith("/") ? webappPath.substring(0, webappPath.length() - 1) : webappPath;
    Filter filter = (request, response, chain) -> {
      HttpServletRequest req = (HttpServletRequest) request;
      if ("POST".equalsIgnoreCase(req.getMethod()) && req.getRequestURI().contains("/login/")
          && gate.isServiceAccount(req.getParameter("username"))) {
        HttpServletResponse resp = (HttpServletResponse) response;
        resp.setStatus(HttpServletResponse.SC_FORBIDDEN);
        resp.setContentType("application/json");
        resp.setCharacterEncoding(StandardCharsets.UTF_8.name());
        resp.getWriter().write("{\"type\":\"Forbidden\",\"message\":\"" + WriteGuardPlugin.ERROR_PREFIX
            + " the service account is a machine account and cannot log in to the webapps\"}");
        return;
      }
      chain.doFilter(request, response);
    };
    FilterRegistrationBean<Filter> reg = new FilterRegistrationBean<>(filter);
    reg.setName("smartfin-webapp-service-login-refusal");
    reg.addUrlPatterns(base + "/api/admin/auth/user/*");
    reg.setDispatcherTypes(EnumSet.of(DispatcherType.REQUEST));
    reg.setOrder(5);
    return reg;
  }

  /** The engine's REST authentication filter with the service account answered by the gate. */
  static final class GatedAuthenticationFilter extends ProcessEngineAuthenticationFilter {
    private final ServiceAccountGate gate;

    GatedAuthenticationFilter(ServiceAccountGate gate) {
      this.gate = gate;
    }

    @Override
    public void init(FilterConfig filterConfig) throws ServletException {
      super.init(filterConfig);
      authenticationProvider = new GatedBasicAuthentication(gate);
    }
  }

  static final class GatedBasicAuthentication extends HttpBasicAuthenticationProvider {
    private final ServiceAccountGate gate;

    GatedBasicAuthentication(ServiceAccountGate gate) {
      this.gate = gate;
    }

    @Override
    public AuthenticationResult extractAuthenticatedUser(HttpServletRequest request, ProcessEngine engine) {
      String header = request.getHeader("Authorization");
      if (header != null && header.startsWith(BASIC_AUTH_HEADER_PREFIX)) {
        String decoded;
        try {
          decoded = new String(Base64.getDecoder().decode(header.substring(BASIC_AUTH_HEADER_PREFIX.length()).trim()),
              StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
          return AuthenticationResult.unsuccessful();
        }
        int colon = decoded.indexOf(':');
        if (colon > 0) {
          String user = decoded.substring(0, colon);
          if (gate.isServiceAccount(user)) {
            ServiceAccountGate.Verdict verdict = gate.attempt(user, decoded.substring(colon + 1),
                request.getRemoteAddr());
            return verdict == ServiceAccountGate.Verdict.ACCEPTED
                ? AuthenticationResult.successful(user) : AuthenticationResult.unsuccessful(user);
          }
        }
      }
      return super.extractAuthenticatedUser(request, engine);
    }
  }

}
