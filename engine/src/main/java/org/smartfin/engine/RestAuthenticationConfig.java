package org.smartfin.engine;

import jakarta.servlet.DispatcherType;
import java.util.EnumSet;

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
 */
@Configuration
public class RestAuthenticationConfig {

  @Bean
  public FilterRegistrationBean<ProcessEngineAuthenticationFilter> restAuthenticationFilter(
      @Value("${spring.jersey.application-path:/engine-rest}") String restPath) {
    String base = restPath.endsWith("/") ? restPath.substring(0, restPath.length() - 1) : restPath;
    FilterRegistrationBean<ProcessEngineAuthenticationFilter> reg =
        new FilterRegistrationBean<>(new ProcessEngineAuthenticationFilter());
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
}
