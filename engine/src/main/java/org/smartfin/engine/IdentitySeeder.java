package org.smartfin.engine;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

import org.camunda.bpm.engine.AuthorizationService;
import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.authorization.Authorization;
import org.camunda.bpm.engine.authorization.BatchPermissions;
import org.camunda.bpm.engine.authorization.Groups;
import org.camunda.bpm.engine.authorization.HistoricProcessInstancePermissions;
import org.camunda.bpm.engine.authorization.HistoricTaskPermissions;
import org.camunda.bpm.engine.authorization.Permission;
import org.camunda.bpm.engine.authorization.Permissions;
import org.camunda.bpm.engine.authorization.ProcessDefinitionPermissions;
import org.camunda.bpm.engine.authorization.ProcessInstancePermissions;
import org.camunda.bpm.engine.authorization.Resource;
import org.camunda.bpm.engine.authorization.Resources;
import org.camunda.bpm.engine.authorization.TaskPermissions;
import org.camunda.bpm.engine.identity.Group;
import org.camunda.bpm.engine.identity.User;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.env.Environment;
import org.springframework.core.env.Profiles;
import org.springframework.core.io.ClassPathResource;
import org.springframework.stereotype.Component;
import org.yaml.snakeyaml.Yaml;

/**
 * Seeds identities and authorizations right after the engine
 * is built (before the web server accepts requests). Every step is idempotent:
 * existing entries are kept, missing ones are added; the authorizations it gives to
 * the workflow role groups are set to exactly what they need. Passwords of the admin,
 * service and demo accounts are written on every start so that a rotated secret
 * takes effect.
 *
 * <p>Demo users exist only with the {@code demo} profile: without it, the users listed in
 * {@code application-demo.yaml} whose e-mail is in the {@value #DEMO_EMAIL_DOMAIN} domain are
 * deleted (with their memberships); no other user is touched.
 */
@Component
public class IdentitySeeder extends AbstractProcessEnginePlugin {

  private static final Logger LOG = LoggerFactory.getLogger(IdentitySeeder.class);

  static final String SERVICE_GROUP = "smartfin-service";
  static final String TASKLIST_APP = "tasklist";
  static final String DEMO_PROFILE = "demo";
  static final String DEMO_EMAIL_DOMAIN = "@demo.smartfin.local";
  static final String DEMO_RESOURCE = "application-demo.yaml";

  private final SmartFinProperties props;
  private final Environment environment;

  public IdentitySeeder(SmartFinProperties props, Environment environment) {
    this.props = props;
    this.environment = environment;
  }

  @Override
  public void postProcessEngineBuild(ProcessEngine engine) {
    long start = System.currentTimeMillis();
    Seeding s = new Seeding(engine);
    s.adminAccount();
    s.serviceAccount();
    s.roles();
    s.narrowTaskAuthorizations();
    if (environment.acceptsProfiles(Profiles.of(DEMO_PROFILE))) {
      s.demoUsers();
    } else {
      s.removeDemoUsers();
    }
    LOG.info("SmartFin identities ready ({} created or changed) in {} ms", s.changes,
        System.currentTimeMillis() - start);
  }

  private final class Seeding {
    final IdentityService ids;
    final AuthorizationService auth;
    int changes;

    Seeding(ProcessEngine engine) {
      ids = engine.getIdentityService();
      auth = engine.getAuthorizationService();
    }

    void adminAccount() {
      SmartFinProperties.Account a = props.getAdmin();
      String id = required(a.getId(), "SMARTFIN_ENGINE_ADMIN_USER");
      group(Groups.CAMUNDA_ADMIN, "管理员 Administrators", Groups.GROUP_TYPE_SYSTEM);
      user(id, a.getFirstName(), a.getLastName(), a.getEmail(),
          required(a.getPassword(), "SMARTFIN_ENGINE_ADMIN_PASSWORD"), true);
      member(id, Groups.CAMUNDA_ADMIN);
      for (Resource r : Resources.values()) {
        grant(Groups.CAMUNDA_ADMIN, r, Authorization.ANY, Permissions.ALL);
      }
    }

    void serviceAccount() {
      SmartFinProperties.Account a = props.getService();
      String id = required(a.getId(), "SMARTFIN_ENGINE_SERVICE_USER");
      group(SERVICE_GROUP, "SmartFin 服务账号 SmartFin service", Groups.GROUP_TYPE_SYSTEM);
      // The service's password checks are answered by ServiceAccountGate (so checkPassword
      // cannot tell a stale stored hash): store the configured secret on every start.
      user(id, a.getFirstName(), a.getLastName(), a.getEmail(),
          required(a.getPassword(), "SMARTFIN_ENGINE_SERVICE_PASSWORD"), false);
      User stored = ids.createUserQuery().userId(id).singleResult();
      stored.setPassword(a.getPassword());
      ids.saveUser(stored);
      ids.unlockUser(id);
      member(id, SERVICE_GROUP);
      String any = Authorization.ANY;
      // deploy models, forms and decision tables; redeploy / remove in tests
      grant(SERVICE_GROUP, Resources.DEPLOYMENT, any,
          Permissions.CREATE, Permissions.READ, Permissions.DELETE);
      // start instances, query definitions, work external and user tasks through the definition
      grant(SERVICE_GROUP, Resources.PROCESS_DEFINITION, any,
          ProcessDefinitionPermissions.READ,
          ProcessDefinitionPermissions.CREATE_INSTANCE,
          ProcessDefinitionPermissions.READ_INSTANCE,
          ProcessDefinitionPermissions.UPDATE_INSTANCE,
          ProcessDefinitionPermissions.DELETE_INSTANCE,
          ProcessDefinitionPermissions.RETRY_JOB,
          ProcessDefinitionPermissions.READ_TASK,
          ProcessDefinitionPermissions.UPDATE_TASK,
          ProcessDefinitionPermissions.TASK_WORK,
          ProcessDefinitionPermissions.TASK_ASSIGN,
          ProcessDefinitionPermissions.READ_HISTORY,
          ProcessDefinitionPermissions.READ_HISTORY_VARIABLE,
          ProcessDefinitionPermissions.READ_INSTANCE_VARIABLE,
          ProcessDefinitionPermissions.UPDATE_INSTANCE_VARIABLE,
          ProcessDefinitionPermissions.READ_TASK_VARIABLE,
          ProcessDefinitionPermissions.UPDATE_TASK_VARIABLE);
      // start, query, correlate messages, set variables, external-task fetch/complete/failure,
      // incidents, cancel in tests
      grant(SERVICE_GROUP, Resources.PROCESS_INSTANCE, any,
          ProcessInstancePermissions.CREATE,
          ProcessInstancePermissions.READ,
          ProcessInstancePermissions.UPDATE,
          ProcessInstancePermissions.DELETE,
          ProcessInstancePermissions.RETRY_JOB,
          ProcessInstancePermissions.UPDATE_VARIABLE);
      grant(SERVICE_GROUP, Resources.TASK, any,
          TaskPermissions.READ,
          TaskPermissions.UPDATE,
          TaskPermissions.TASK_WORK,
          TaskPermissions.TASK_ASSIGN,
          TaskPermissions.READ_VARIABLE,
          TaskPermissions.UPDATE_VARIABLE);
      grant(SERVICE_GROUP, Resources.DECISION_DEFINITION, any,
          Permissions.READ, Permissions.CREATE_INSTANCE, Permissions.READ_HISTORY);
      grant(SERVICE_GROUP, Resources.DECISION_REQUIREMENTS_DEFINITION, any, Permissions.READ);
      // processes address people by role: a committee vote needs the members of its group
      grant(SERVICE_GROUP, Resources.USER, any, Permissions.READ);
      grant(SERVICE_GROUP, Resources.GROUP, any, Permissions.READ);
      // mirror the delegation table into deputy groups (deputy.<delegator>.<group>) and their members;
      // authorizations cannot name a prefix, so WriteGuardPlugin refuses the service every other
      // group, membership, user or tenant write
      grant(SERVICE_GROUP, Resources.GROUP, any, Permissions.CREATE, Permissions.UPDATE, Permissions.DELETE);
      grant(SERVICE_GROUP, Resources.GROUP_MEMBERSHIP, any, Permissions.CREATE, Permissions.DELETE);
      grant(SERVICE_GROUP, Resources.HISTORIC_PROCESS_INSTANCE, any,
          HistoricProcessInstancePermissions.READ);
      grant(SERVICE_GROUP, Resources.HISTORIC_TASK, any,
          HistoricTaskPermissions.READ, HistoricTaskPermissions.READ_VARIABLE);
      grant(SERVICE_GROUP, Resources.BATCH, any,
          BatchPermissions.CREATE, BatchPermissions.READ, BatchPermissions.READ_HISTORY);
    }

    void roles() {
      for (Roles.Role role : Roles.ALL) {
        group(role.id(), role.groupName(), Groups.GROUP_TYPE_WORKFLOW);
      }

      // Exactly these grants (extra permissions found on them are removed): role groups work
      // their tasks through the engine's per-task authorizations (READ + TASK_WORK) and never
      // get UPDATE on process instances or definitions. Their Tasklist filters and the grants
      // to read them are written by `smartfin up` (smartfin/camunda/tasklist_filters.py).
      for (Roles.Role role : Roles.ALL) {
        String g = role.id();
        grantExactly(g, Resources.APPLICATION, TASKLIST_APP, Permissions.ACCESS);
        // names, diagrams and start forms in Tasklist; gives no access to instances or tasks
        grantExactly(g, Resources.PROCESS_DEFINITION, Authorization.ANY, ProcessDefinitionPermissions.READ);
      }
      for (String starter : Roles.STARTER_GROUPS) {
        for (String key : Roles.REQUESTER_STARTABLE) {
          grantExactly(starter, Resources.PROCESS_DEFINITION, key,
              ProcessDefinitionPermissions.READ, ProcessDefinitionPermissions.CREATE_INSTANCE);
        }
        grantExactly(starter, Resources.PROCESS_INSTANCE, Authorization.ANY,
            ProcessInstancePermissions.CREATE);
      }
    }

    /**
     * Task authorizations created before the engine granted TASK_WORK (instead of UPDATE) to
     * candidates and assignees: UPDATE is replaced by TASK_WORK for everyone but the service
     * and admin groups.
     */
    void narrowTaskAuthorizations() {
      List<Authorization> wide = auth.createAuthorizationQuery()
          .authorizationType(Authorization.AUTH_TYPE_GRANT)
          .resourceType(Resources.TASK)
          .hasPermission(Permissions.UPDATE)
          .list();
      int narrowed = 0;
      for (Authorization a : wide) {
        if (Authorization.ANY.equals(a.getResourceId()) || SERVICE_GROUP.equals(a.getGroupId())
            || Groups.CAMUNDA_ADMIN.equals(a.getGroupId())) {
          continue;
        }
        a.removePermission(Permissions.UPDATE);
        a.addPermission(TaskPermissions.TASK_WORK);
        auth.saveAuthorization(a);
        narrowed++;
      }
      if (narrowed > 0) {
        changes += narrowed;
        LOG.info("Task authorizations narrowed from UPDATE to TASK_WORK: {}", narrowed);
      }
    }

    /** Deletes the demo users (listed in application-demo.yaml, demo e-mail domain) when the demo profile is off. */
    void removeDemoUsers() {
      for (String id : listedDemoUserIds()) {
        User u = ids.createUserQuery().userId(id).singleResult();
        if (u != null && u.getEmail() != null && u.getEmail().endsWith(DEMO_EMAIL_DOMAIN)) {
          ids.deleteUser(id);
          changes++;
          LOG.info("Demo user {} removed (demo profile is off)", id);
        }
      }
    }

    @SuppressWarnings("unchecked")
    List<String> listedDemoUserIds() {
      ClassPathResource resource = new ClassPathResource(DEMO_RESOURCE);
      if (!resource.exists()) {
        return List.of();
      }
      List<String> result = new ArrayList<>();
      try (InputStream in = resource.getInputStream()) {
        Object root = new Yaml().load(in);
        Object users = path(root, "smartfin", "demo", "users");
        if (users instanceof List<?> list) {
          for (Object entry : list) {
            if (entry instanceof Map<?, ?> m && m.get("id") != null) {
              result.add(m.get("id").toString());
            }
          }
        }
      } catch (Exception e) {
        LOG.warn("Could not read {} to remove the demo users: {}", DEMO_RESOURCE, e.toString());
      }
      return result;
    }

    void demoUsers() {
      List<SmartFinProperties.DemoUser> users = props.getDemo().getUsers();
      if (users == null || users.isEmpty()) {
        return;
      }
      String password = props.getDemo().getPassword();
      for (SmartFinProperties.DemoUser u : users) {
        user(u.getId(), u.getFirstName(), u.getLastName(), u.getEmail(), password, true);
        for (String g : u.getGroups()) {
          if (ids.createGroupQuery().groupId(g).count() == 0) {
            throw new IllegalStateException("demo user " + u.getId() + " names unknown group " + g);
          }
          member(u.getId(), g);
        }
      }
      LOG.info("SmartFin demo users present: {}", users.size());
    }

    // helpers ----------------------------------------------------------------

    void group(String id, String name, String type) {
      if (ids.createGroupQuery().groupId(id).count() > 0) {
        return;
      }
      Group g = ids.newGroup(id);
      g.setName(name);
      g.setType(type);
      ids.saveGroup(g);
      changes++;
    }

    void user(String id, String first, String last, String email, String password, boolean setPassword) {
      User u = ids.createUserQuery().userId(id).singleResult();
      if (u == null) {
        u = ids.newUser(id);
        u.setFirstName(first);
        u.setLastName(last);
        u.setEmail(email);
        u.setPassword(password);
        ids.saveUser(u);
        changes++;
        return;
      }
      if (setPassword && password != null && !ids.checkPassword(id, password)) {
        // a failed check counts as a login attempt and changes the stored user: reload it
        u = ids.createUserQuery().userId(id).singleResult();
        u.setPassword(password);
        ids.saveUser(u);
        ids.unlockUser(id);
        changes++;
        LOG.info("Password of user {} updated", id);
      }
    }

    void member(String userId, String groupId) {
      if (ids.createUserQuery().userId(userId).memberOfGroup(groupId).count() == 0) {
        ids.createMembership(userId, groupId);
        changes++;
      }
    }

    /** Like {@link #grant} but also removes permissions not listed. */
    void grantExactly(String groupId, Resource resource, String resourceId, Permission... perms) {
      grant(groupId, resource, resourceId, perms);
      Authorization a = auth.createAuthorizationQuery()
          .authorizationType(Authorization.AUTH_TYPE_GRANT)
          .groupIdIn(groupId)
          .resourceType(resource)
          .resourceId(resourceId)
          .singleResult();
      java.util.Set<Permission> wanted = new java.util.HashSet<>(Arrays.asList(perms));
      java.util.Set<Permission> granted = new java.util.HashSet<>();
      for (Permission p : a.getPermissions(permissionsOf(resource))) {
        if (p.getValue() != 0 && p.getValue() != Integer.MAX_VALUE) {
          granted.add(p);
        }
      }
      boolean changed = !granted.equals(wanted);
      if (changed) {
        a.setPermissions(perms);
      }
      if (changed) {
        auth.saveAuthorization(a);
        changes++;
        LOG.info("Narrowed the grant on {}:{} of group {} to {}", resource.resourceName(), resourceId, groupId,
            Arrays.toString(perms));
      }
    }

    void grant(String groupId, Resource resource, String resourceId, Permission... perms) {
      Authorization a = auth.createAuthorizationQuery()
          .authorizationType(Authorization.AUTH_TYPE_GRANT)
          .groupIdIn(groupId)
          .resourceType(resource)
          .resourceId(resourceId)
          .singleResult();
      boolean changed = false;
      if (a == null) {
        a = auth.createNewAuthorization(Authorization.AUTH_TYPE_GRANT);
        a.setGroupId(groupId);
        a.setResource(resource);
        a.setResourceId(resourceId);
        changed = true;
      }
      for (Permission p : perms) {
        if (!a.isPermissionGranted(p)) {
          a.addPermission(p);
          changed = true;
        }
      }
      if (changed) {
        auth.saveAuthorization(a);
        changes++;
        LOG.debug("granted {} on {}:{} to group {}", Arrays.toString(perms), resource.resourceName(),
            resourceId, groupId);
      }
    }
  }

  private static Permission[] permissionsOf(Resource resource) {
    if (resource == Resources.PROCESS_DEFINITION) {
      return ProcessDefinitionPermissions.values();
    }
    if (resource == Resources.PROCESS_INSTANCE) {
      return ProcessInstancePermissions.values();
    }
    if (resource == Resources.TASK) {
      return TaskPermissions.values();
    }
    return Permissions.values();
  }

  private static Object path(Object node, String... keys) {
    Object current = node;
    for (String key : keys) {
      if (!(current instanceof Map<?, ?> m)) {
        return null;
      }
      current = m.get(key);
    }
    return current;
  }

  private static String required(String value, String envName) {
    if (value == null || value.isBlank()) {
      throw new IllegalStateException("SmartFin engine: environment variable " + envName + " is required");
    }
    return value;
  }
}
