package org.smartfin.engine;

import java.util.ArrayList;
import java.util.List;

import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * SmartFin settings bound from {@code smartfin.*} (see application.yaml and
 * application-demo.yaml). Accounts come from environment variables; demo users
 * exist only in the demo profile.
 */
@ConfigurationProperties(prefix = "smartfin")
public class SmartFinProperties {

  private final Account admin = new Account();
  private final Account service = new Account();
  private final Demo demo = new Demo();
  private final Guard guard = new Guard();

  public Account getAdmin() {
    return admin;
  }

  public Account getService() {
    return service;
  }

  public Demo getDemo() {
    return demo;
  }

  public Guard getGuard() {
    return guard;
  }

  /** Settings of the write guard ({@link WriteGuardPlugin}) and the service account gate. */
  public static class Guard {
    /** Start variables users may never pass, in addition to {@link WriteGuardPlugin#ALWAYS_RESERVED}. */
    private List<String> reservedStartVariables = new ArrayList<>();
    /** Wrong service-account passwords per source address and minute before a warning is logged. */
    private int serviceFailedLoginsPerMinute = 20;

    public List<String> getReservedStartVariables() { return reservedStartVariables; }
    public void setReservedStartVariables(List<String> v) { this.reservedStartVariables = v; }
    public int getServiceFailedLoginsPerMinute() { return serviceFailedLoginsPerMinute; }
    public void setServiceFailedLoginsPerMinute(int v) { this.serviceFailedLoginsPerMinute = v; }
  }

  public static class Account {
    private String id;
    private String password;
    private String firstName;
    private String lastName;
    private String email;

    public String getId() { return id; }
    public void setId(String id) { this.id = id; }
    public String getPassword() { return password; }
    public void setPassword(String password) { this.password = password; }
    public String getFirstName() { return firstName; }
    public void setFirstName(String firstName) { this.firstName = firstName; }
    public String getLastName() { return lastName; }
    public void setLastName(String lastName) { this.lastName = lastName; }
    public String getEmail() { return email; }
    public void setEmail(String email) { this.email = email; }
  }

  public static class Demo {
    private String password;
    private List<DemoUser> users = new ArrayList<>();

    public String getPassword() { return password; }
    public void setPassword(String password) { this.password = password; }
    public List<DemoUser> getUsers() { return users; }
    public void setUsers(List<DemoUser> users) { this.users = users; }
  }

  public static class DemoUser {
    private String id;
    private String firstName;
    private String lastName;
    private String email;
    private List<String> groups = new ArrayList<>();

    public String getId() { return id; }
    public void setId(String id) { this.id = id; }
    public String getFirstName() { return firstName; }
    public void setFirstName(String firstName) { this.firstName = firstName; }
    public String getLastName() { return lastName; }
    public void setLastName(String lastName) { this.lastName = lastName; }
    public String getEmail() { return email; }
    public void setEmail(String email) { this.email = email; }
    public List<String> getGroups() { return groups; }
    public void setGroups(List<String> groups) { this.groups = groups; }
  }
}
