package org.smartfin.engine;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import org.camunda.bpm.engine.AuthorizationException;
import org.camunda.bpm.engine.FormService;
import org.camunda.bpm.engine.IdentityService;
import org.camunda.bpm.engine.RepositoryService;
import org.camunda.bpm.engine.TaskService;
import org.camunda.bpm.engine.authorization.Groups;
import org.camunda.bpm.engine.form.CamundaFormRef;
import org.camunda.bpm.engine.form.FormData;
import org.camunda.bpm.engine.form.FormField;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.engine.impl.interceptor.Command;
import org.camunda.bpm.engine.impl.interceptor.CommandContext;
import org.camunda.bpm.engine.impl.interceptor.CommandInterceptor;
import org.camunda.bpm.engine.impl.persistence.deploy.Deployer;
import org.camunda.bpm.engine.impl.persistence.entity.DeploymentEntity;
import org.camunda.bpm.engine.impl.persistence.entity.ResourceEntity;
import org.camunda.bpm.engine.repository.ProcessDefinition;
import org.camunda.bpm.engine.repository.ProcessDefinitionQuery;
import org.camunda.bpm.engine.task.DelegationState;
import org.camunda.bpm.engine.task.IdentityLink;
import org.camunda.bpm.engine.task.IdentityLinkType;
import org.camunda.bpm.engine.task.Task;
import org.camunda.bpm.engine.variable.value.SerializableValue;
import org.camunda.bpm.engine.variable.value.TypedValue;
import org.camunda.bpm.model.bpmn.Bpmn;
import org.camunda.bpm.model.bpmn.BpmnModelInstance;
import org.camunda.bpm.model.bpmn.instance.StartEvent;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

/**
 * What users may write, enforced inside the engine for every API (REST, Tasklist, Java).
 *
 * <p>A command interceptor (after the command context is opened, so every check runs in the
 * command's transaction) looks at each command a user sends and refuses writes the user's
 * task does not offer. It applies to authenticated users who are not privileged (members of
 * {@code smartfin-service} or {@code camunda-admin}); internal work (no authenticated user,
 * e.g. the job executor) and commands nested inside another command are not restricted.
 *
 * <ul>
 *   <li>Task variables (set, patch, remove; local or not), completion, form submission, resolve:
 *       only the fields of the task's deployed Camunda Form; read-only / disabled fields (and the
 *       reserved names) only with their current value; a task without a form takes no variables.
 *       The user must hold the task (assignee) or, when it is unassigned, be a candidate.</li>
 *   <li>Process instance / execution variables, modification, restart, migration, start at chosen
 *       activities, external tasks, BPMN errors/escalations from a task, message correlation and
 *       signals with variables: refused.</li>
 *   <li>Start (REST start, submit-form): only the start form's fields, never a reserved name
 *       ({@link #ALWAYS_RESERVED} + {@code smartfin.guard.reserved-start-variables}).</li>
 *   <li>Identity links, owner, save/create/delete task, priority/name/description/dates, changing
 *       or deleting comments: refused.</li>
 *   <li>Assignment: claim for oneself as a candidate who is not excluded by four-eyes; unclaim
 *       one's own task; assign or delegate a task one holds only to a member of one of its
 *       candidate groups (or a candidate user) who is not excluded; no re-delegation of a
 *       delegated task; only the delegate resolves. Every delegation adds the task comment
 *       "delegated by X to Y". Assignment changes that pass these checks run without the
 *       engine's TASK_ASSIGN check (users hold only TASK_WORK on tasks).</li>
 * </ul>
 *
 * <p>Refusals are {@link AuthorizationException}s (HTTP 403) whose message starts with
 * {@code WRITE_GUARD:}; four-eyes refusals are {@code ProcessEngineException}s starting with
 * {@code FOUR_EYES:} (HTTP 500, like the task listener's). Password checks of the service
 * account are answered by {@link ServiceAccountGate} (no engine lockout).
 */
@Component
public class WriteGuardPlugin extends AbstractProcessEnginePlugin {

  private static final Logger LOG = LoggerFactory.getLogger(WriteGuardPlugin.class);

  public static final String ERROR_PREFIX = "WRITE_GUARD:";
  /** Start variables no user may pass, whatever a form declares. */
  public static final List<String> ALWAYS_RESERVED = List.of(
      "requester", "requestNo", "claimNo", "proposalNo", "adjustmentNo", "decisions", "initiator",
      ApprovalStepPlugin.VAR_CHAIN, ApprovalStepPlugin.VAR_ROUND, ApprovalStepPlugin.VAR_STEP);
  /** Engine groups mirroring recorded delegations: {@code deputy.<delegator>.<candidate group>}. */
  public static final String DEPUTY_PREFIX = "deputy.";
  public static final String DEPUTY_GROUP_TYPE = "deputy";
  static final List<String> PRIVILEGED_GROUPS = List.of(IdentitySeeder.SERVICE_GROUP, Groups.CAMUNDA_ADMIN);

  private final ServiceAccountGate gate;
  private final Set<String> reserved;

  public WriteGuardPlugin(SmartFinProperties props, ServiceAccountGate gate) {
    this.gate = gate;
    Set<String> names = new LinkedHashSet<>(ALWAYS_RESERVED);
    for (String name : props.getGuard().getReservedStartVariables()) {
      if (name != null && !name.isBlank()) {
        names.add(name.trim());
      }
    }
    this.reserved = Set.copyOf(names);
  }

  Set<String> reserved() {
    return reserved;
  }

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    EngineCommands.verify();
    Guard guard = new Guard();
    configuration.setCustomPostCommandInterceptorsTxRequired(
        append(configuration.getCustomPostCommandInterceptorsTxRequired(), guard));
    configuration.setCustomPostCommandInterceptorsTxRequiresNew(
        append(configuration.getCustomPostCommandInterceptorsTxRequiresNew(), new Guard()));
    List<Deployer> deployers = configuration.getCustomPreDeployers();
    if (deployers == null) {
      deployers = new ArrayList<>();
      configuration.setCustomPreDeployers(deployers);
    }
    deployers.add(new ReservedStartFieldWarning());
    LOG.info("SmartFin write guard on: reserved start variables {}", reserved);
  }

  private static List<CommandInterceptor> append(List<CommandInterceptor> list, CommandInterceptor interceptor) {
    List<CommandInterceptor> result = list == null ? new ArrayList<>() : new ArrayList<>(list);
    result.add(interceptor);
    return result;
  }

  static AuthorizationException refused(String message) {
    return new AuthorizationException(ERROR_PREFIX + " " + message);
  }

  // the interceptor ---------------------------------------------------------------------------------

  private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

  final class Guard extends CommandInterceptor {
    @Override
    @SuppressWarnings("unchecked")
    public <T> T execute(Command<T> command) {
      int[] depth = DEPTH.get();
      depth[0]++;
      try {
        EngineCommands.Write write = EngineCommands.describe(command);
        if (write.kind() == EngineCommands.Kind.CHECK_PASSWORD && gate.isServiceAccount(write.userId())) {
          return (T) Boolean.valueOf(checkServicePassword(write));
        }
        CommandContext ctx = Context.getCommandContext();
        String user = ctx == null ? null : ctx.getAuthenticatedUserId();
        if (depth[0] > 1 || write.kind() == EngineCommands.Kind.OTHER || user == null) {
          return next.execute(command);
        }
        if (privileged(ctx.getAuthenticatedGroupIds())) {
          if (write.kind() == EngineCommands.Kind.IDENTITY_WRITE
              && !ctx.getAuthenticatedGroupIds().contains(Groups.CAMUNDA_ADMIN)) {
            deputyGroupsOnly(write, user);
          }
          T result = next.execute(command);
          if (write.kind() == EngineCommands.Kind.DELEGATE) {
            commentDelegation(ctx, write.taskId(), user, write.userId());
          }
          return result;
        }
        return new Check(ctx, user, write).apply(() -> next.execute(command));
      } finally {
        depth[0]--;
      }
    }
  }

  /** The deputy group of a delegator for one candidate group. */
  public static String deputyGroup(String delegator, String candidateGroup) {
    return DEPUTY_PREFIX + delegator + "." + candidateGroup;
  }

  /**
   * The service account writes identities only to mirror delegations: groups {@code deputy.*} of
   * type {@code deputy} and their memberships. Its grants on groups and memberships are broad
   * (authorizations cannot name a prefix); this narrows them, so it can never add anyone to a role
   * group, to {@code camunda-admin} or to its own group.
   */
  static void deputyGroupsOnly(EngineCommands.Write write, String user) {
    String group = write.groupId();
    if (group == null || !group.startsWith(DEPUTY_PREFIX) || group.length() <= DEPUTY_PREFIX.length()) {
      throw refused("user " + user + " may write only the deputy groups (" + DEPUTY_PREFIX + "*) of the identity "
          + "service, not " + (group == null ? "users, tenants or other identities" : "group " + group));
    }
    if (write.groupType() != null && !DEPUTY_GROUP_TYPE.equals(write.groupType())) {
      throw refused("deputy group " + group + " must have type '" + DEPUTY_GROUP_TYPE + "', not '"
          + write.groupType() + "'");
    }
  }

  /** Only the service account itself (or an internal call) may test the service secret. */
  boolean checkServicePassword(EngineCommands.Write write) {
    CommandContext ctx = Context.getCommandContext();
    String current = ctx == null ? null : ctx.getAuthenticatedUserId();
    if (current != null && !current.equals(gate.serviceId())) {
      LOG.warn("User {} tried the service account's password: refused without counting", current);
      return false;
    }
    return gate.matches(write.userId(), write.password());
  }

  static boolean privileged(List<String> groups) {
    if (groups == null) {
      return false;
    }
    for (String g : PRIVILEGED_GROUPS) {
      if (groups.contains(g)) {
        return true;
      }
    }
    return false;
  }

  static void commentDelegation(CommandContext ctx, String taskId, String from, String to) {
    TaskService tasks = ctx.getProcessEngineConfiguration().getTaskService();
    ctx.runWithoutAuthorization(() -> {
      Task task = tasks.createTaskQuery().taskId(taskId).singleResult();
      String pid = task == null ? null : task.getProcessInstanceId();
      tasks.createComment(taskId, pid, "delegated by " + from + " to " + to + " / 由 " + from + " 转交给 " + to);
      return null;
    });
  }

  interface Proceed<T> {
    T run();
  }

  /** The rules for one command of one non-privileged user. */
  final class Check {
    final CommandContext ctx;
    final String user;
    final List<String> groups;
    final EngineCommands.Write write;
    final TaskService tasks;
    final FormService forms;
    final RepositoryService repository;
    final IdentityService identities;

    Check(CommandContext ctx, String user, EngineCommands.Write write) {
      this.ctx = ctx;
      this.user = user;
      this.groups = ctx.getAuthenticatedGroupIds() == null ? List.of() : ctx.getAuthenticatedGroupIds();
      this.write = write;
      ProcessEngineConfigurationImpl cfg = ctx.getProcessEngineConfiguration();
      this.tasks = cfg.getTaskService();
      this.forms = cfg.getFormService();
      this.repository = cfg.getRepositoryService();
      this.identities = cfg.getIdentityService();
    }

    <T> T apply(Proceed<T> proceed) {
      switch (write.kind()) {
        case TASK_VARIABLES -> {
          Task task = task();
          if (task == null) {
            return proceed.run(); // the engine reports the missing task
          }
          mayWork(task);
          checkVariables(task, write.variables(), write.deletions());
          return proceed.run();
        }
        case TASK_COMPLETE -> {
          Task task = task();
          if (task == null) {
            return proceed.run();
          }
          mayWork(task);
          notExcluded(task, user);
          checkVariables(task, write.variables(), List.of());
          matchesStoredStep(task);
          return proceed.run();
        }
        case TASK_RESOLVE -> {
          Task task = task();
          if (task == null) {
            return proceed.run();
          }
          if (task.getDelegationState() != DelegationState.PENDING || !user.equals(task.getAssignee())) {
            throw refused("only the delegate resolves a delegated task (task " + ref(task) + ")");
          }
          checkVariables(task, write.variables(), List.of());
          return proceed.run();
        }
        case CLAIM -> {
          Task task = task();
          if (task == null) {
            return proceed.run();
          }
          if (!user.equals(write.userId())) {
            throw refused("a user may claim a task only for herself (task " + ref(task) + ", claimed for "
                + write.userId() + ")");
          }
          claimable(task);
          return proceed.run();
        }
        case ASSIGN -> {
          Task task = task();
          if (task == null) {
            return proceed.run();
          }
          String target = write.userId();
          notDelegated(task, "reassigned");
          if (target == null) {
            if (!user.equals(task.getAssignee())) {
              throw refused("only the assignee may give back task " + ref(task));
            }
            if (candidates(task).isEmpty()) {
              throw refused("task " + ref(task) + " has no candidates to take it back: it stays assigned");
            }
          } else if (target.equals(user)) {
            claimable(task);
          } else {
            holds(task, "assign");
            if (passableTo(task, target)) {
              T result = ctx.runWithoutAuthorization(proceed::run);
              commentDelegation(ctx, task.getId(), user, target);
              return result;
            }
          }
          return ctx.runWithoutAuthorization(proceed::run);
        }
        case DELEGATE -> {
          Task task = task();
          if (task == null) {
            return proceed.run();
          }
          notDelegated(task, "delegated again");
          holds(task, "delegate");
          String target = write.userId();
          if (target == null || target.equals(user)) {
            throw refused("task " + ref(task) + " can only be delegated to another user");
          }
          passableTo(task, target);
          T result = ctx.runWithoutAuthorization(proceed::run);
          commentDelegation(ctx, task.getId(), user, target);
          return result;
        }
        case MESSAGE, SIGNAL -> {
          if (!write.variables().isEmpty()) {
            throw refused("users may not pass variables with a " + write.kind().name().toLowerCase()
                + " (" + String.join(", ", write.variables().keySet()) + ")");
          }
          return proceed.run();
        }
        case START -> {
          checkStart();
          return proceed.run();
        }
        case TASK_ERROR -> throw refused("users may not throw BPMN errors or escalations from task "
            + write.taskId());
        case TASK_IDENTITY_LINK -> throw refused("users may not change the candidates, owner or other "
            + "identity links of task " + write.taskId());
        case TASK_PROPERTY -> throw refused("users may not create, save, delete or change the priority, name, "
            + "description or dates of a task" + (write.taskId() == null ? "" : " (task " + write.taskId() + ")"));
        case COMMENT_CHANGE -> throw refused("users may not change or delete comments (the decision trail)");
        case EXECUTION_VARIABLES -> throw refused("users may not write process instance or execution variables: "
            + "a task's form is the only way in");
        case MODIFICATION -> throw refused("users may not modify, restart or migrate process instances");
        case START_AT_ACTIVITIES -> throw refused("users may not start a process at chosen activities");
        case EXTERNAL_TASK -> throw refused("external tasks are worked by the SmartFin service only");
        case DEFINITION_IDENTITY_LINK -> throw refused("users may not change who may start a process");
        default -> {
          return proceed.run();
        }
      }
    }

    // tasks ------------------------------------------------------------------------------------------

    Task task() {
      String id = write.taskId();
      return id == null ? null : ctx.runWithoutAuthorization(() -> tasks.createTaskQuery().taskId(id).singleResult());
    }

    String ref(Task task) {
      return task.getTaskDefinitionKey() + " " + task.getId();
    }

    List<IdentityLink> candidates(Task task) {
      List<IdentityLink> links = ctx.runWithoutAuthorization(() -> tasks.getIdentityLinksForTask(task.getId()));
      List<IdentityLink> result = new ArrayList<>();
      for (IdentityLink link : links) {
        if (IdentityLinkType.CANDIDATE.equals(link.getType())) {
          result.add(link);
        }
      }
      return result;
    }

    boolean isCandidate(Task task, String userId, List<String> userGroups) {
      for (IdentityLink link : candidates(task)) {
        if (userId.equals(link.getUserId())) {
          return true;
        }
        if (link.getGroupId() != null) {
          if (userGroups != null ? userGroups.contains(link.getGroupId())
              : ctx.runWithoutAuthorization(() -> identities.createUserQuery().userId(userId)
                  .memberOfGroup(link.getGroupId()).count()) > 0) {
            return true;
          }
        }
      }
      return false;
    }

    /** Complete or write variables: the assignee, or a candidate of an unassigned task. */
    void mayWork(Task task) {
      String assignee = task.getAssignee();
      if (assignee != null) {
        if (!assignee.equals(user)) {
          throw refused("task " + ref(task) + " is assigned to " + assignee + ", not to " + user);
        }
        return;
      }
      if (!isCandidate(task, user, groups)) {
        throw refused("user " + user + " is not a candidate for task " + ref(task));
      }
    }

    void claimable(Task task) {
      if (user.equals(task.getAssignee())) {
        return;
      }
      if (task.getAssignee() != null) {
        throw refused("task " + ref(task) + " is already assigned to " + task.getAssignee());
      }
      if (!isCandidate(task, user, groups)) {
        throw refused("user " + user + " is not a candidate for task " + ref(task));
      }
      notExcluded(task, user);
    }

    void holds(Task task, String action) {
      if (!user.equals(task.getAssignee())) {
        throw refused("only the assignee may " + action + " task " + ref(task));
      }
    }

    void notDelegated(Task task, String what) {
      if (task.getDelegationState() == DelegationState.PENDING) {
        throw refused("task " + ref(task) + " is delegated (to " + task.getAssignee() + ") and cannot be " + what
            + " before the delegate resolves it");
      }
    }

    /**
     * Whom the holder may hand the task to: a member of its candidate groups; or, when the holder is
     * such a member, a deputy the holder recorded for one of those groups (member of
     * {@code deputy.<holder>.<group>}, kept by the SmartFin service from the delegation table) who is
     * not the requester. A holder outside the candidate groups (a deputy) may only give it back to
     * the group: no re-delegation. True when the target is such a deputy.
     */
    boolean passableTo(Task task, String target) {
      if (isCandidate(task, target, null)) {
        notExcluded(task, target);
        return false;
      }
      if (!isCandidate(task, user, groups)) {
        throw refused("不得转授权：代理人只能将任务交回候选组成员 / no re-delegation: " + user + " holds task " + ref(task)
            + " as a deputy and may pass it only back to a member of its candidate groups; " + target
            + " is not one");
      }
      if (!deputyOf(task, target)) {
        throw refused("task " + ref(task) + " can only be passed to a member of its candidate groups or to a "
            + "deputy recorded for them (授权代理人); " + target + " is neither");
      }
      notRequester(task, target);
      notExcluded(task, target);
      return true;
    }

    /** Whether the target is a current deputy of this user for a candidate group of the task the user holds. */
    boolean deputyOf(Task task, String target) {
      for (IdentityLink link : candidates(task)) {
        String group = link.getGroupId();
        if (group == null || !groups.contains(group)) {
          continue;
        }
        String deputies = deputyGroup(user, group);
        if (ctx.runWithoutAuthorization(() -> identities.createUserQuery().userId(target)
            .memberOfGroup(deputies).count()) > 0) {
          return true;
        }
      }
      return false;
    }

    /**
     * A deputy is never the requester: the instance's starter and the user in the task's four-eyes
     * variable (or {@code requester} when the task names none).
     */
    void notRequester(Task task, String target) {
      if (task.getProcessInstanceId() == null) {
        return;
      }
      String variable = FourEyesPlugin.elementProperties(repository, task.getProcessDefinitionId(),
          task.getTaskDefinitionKey()).get(FourEyesPlugin.PROPERTY_FOUR_EYES);
      String name = variable == null || variable.isBlank() ? "requester" : variable.trim();
      Object value = ctx.runWithoutAuthorization(() -> tasks.getVariable(task.getId(), name));
      if (FourEyesPlugin.excludedUsers(task.getProcessInstanceId(), value).contains(target)) {
        throw refused("不得授权给申请人 / task " + ref(task) + " cannot be passed to " + target
            + ", the requester, as a deputy");
      }
    }

    /** An approval step's completion must match the chain stored at routing ({@link ApprovalStepPlugin}). */
    void matchesStoredStep(Task task) {
      if (!ApprovalStepPlugin.marked(FourEyesPlugin.elementProperties(repository, task.getProcessDefinitionId(),
          task.getTaskDefinitionKey()))) {
        return;
      }
      java.util.Set<String> candidateGroups = new java.util.TreeSet<>();
      java.util.Set<String> candidateUsers = new java.util.TreeSet<>();
      ApprovalStepPlugin.candidates(candidates(task), candidateGroups, candidateUsers);
      String id = task.getId();
      String problem = ctx.runWithoutAuthorization(() -> ApprovalStepPlugin.mismatch(
          tasks.getVariable(id, ApprovalStepPlugin.VAR_CHAIN),
          tasks.getVariable(id, ApprovalStepPlugin.VAR_LOOP_COUNTER),
          tasks.getVariableLocal(id, ApprovalStepPlugin.VAR_STEP),
          tasks.getVariable(id, ApprovalStepPlugin.VAR_ELEMENT), candidateGroups, candidateUsers));
      if (problem != null) {
        throw refused(ApprovalStepPlugin.describe(task.getTaskDefinitionKey(), id, problem));
      }
    }

    void notExcluded(Task task, String who) {
      String variable = FourEyesPlugin.elementProperties(repository, task.getProcessDefinitionId(),
          task.getTaskDefinitionKey()).get(FourEyesPlugin.PROPERTY_FOUR_EYES);
      if (variable == null || variable.isBlank() || task.getProcessInstanceId() == null) {
        return;
      }
      Object value = ctx.runWithoutAuthorization(() -> tasks.getVariable(task.getId(), variable.trim()));
      if (FourEyesPlugin.excludedUsers(task.getProcessInstanceId(), value).contains(who)) {
        String businessKey = ctx.runWithoutAuthorization(() -> {
          var instance = ctx.getProcessEngineConfiguration().getRuntimeService().createProcessInstanceQuery()
              .processInstanceId(task.getProcessInstanceId()).singleResult();
          return instance == null ? null : instance.getBusinessKey();
        });
        throw FourEyesPlugin.violation(businessKey, task.getProcessInstanceId(), task.getId(),
            task.getTaskDefinitionKey(), who);
      }
    }

    // variables --------------------------------------------------------------------------------------

    void checkVariables(Task task, Map<String, Object> variables, Collection<String> deletions) {
      if (variables.isEmpty() && deletions.isEmpty()) {
        return;
      }
      FormFields form = taskForm(task);
      if (form.names().isEmpty()) {
        throw refused("task " + ref(task) + " has no form: users may not write its variables ("
            + names(variables.keySet(), deletions) + ")");
      }
      for (Map.Entry<String, Object> e : variables.entrySet()) {
        String name = e.getKey();
        declared(task, form, name);
        if (form.readOnly(name) || reserved.contains(name)) {
          Object current = ctx.runWithoutAuthorization(() -> tasks.getVariableTyped(task.getId(), name, false));
          if (!sameValue(e.getValue(), current)) {
            throw refused("field '" + name + "' of form '" + form.formId() + "' is read-only and may only be "
                + "submitted with its current value (task " + ref(task) + ")");
          }
        }
      }
      for (String name : deletions) {
        declared(task, form, name);
        if (form.readOnly(name) || reserved.contains(name)) {
          throw refused("field '" + name + "' of form '" + form.formId() + "' is read-only and may not be removed "
              + "(task " + ref(task) + ")");
        }
      }
    }

    void declared(Task task, FormFields form, String name) {
      if (!form.declares(name)) {
        throw refused("variable '" + name + "' is not a field of form '" + form.formId() + "' of task "
            + ref(task) + "; users may write only the form's fields");
      }
    }

    FormFields taskForm(Task task) {
      FormData data = ctx.runWithoutAuthorization(() -> forms.getTaskFormData(task.getId()));
      return fields(data, () -> ctx.runWithoutAuthorization(() -> forms.getDeployedTaskForm(task.getId())));
    }

    // start ------------------------------------------------------------------------------------------

    void checkStart() {
      Map<String, Object> variables = write.variables();
      if (variables.isEmpty()) {
        return;
      }
      for (String name : variables.keySet()) {
        if (reserved.contains(name)) {
          throw refused("start variable '" + name + "' is reserved: the engine and the SmartFin service set it");
        }
      }
      String definitionId = definitionId();
      if (definitionId == null) {
        return; // the engine reports the missing definition
      }
      FormData data = ctx.runWithoutAuthorization(() -> forms.getStartFormData(definitionId));
      FormFields form = fields(data, () -> ctx.runWithoutAuthorization(() -> forms.getDeployedStartForm(definitionId)));
      for (Map.Entry<String, Object> e : variables.entrySet()) {
        String name = e.getKey();
        if (!form.declares(name)) {
          throw refused("start variable '" + name + "' is not a field of the start form"
              + (form.formId() == null ? "" : " '" + form.formId() + "'") + " of " + definitionId);
        }
        if (form.readOnly(name) && !sameValue(e.getValue(), null)) {
          throw refused("start form field '" + name + "' is read-only (" + definitionId + ")");
        }
      }
    }

    String definitionId() {
      if (write.processDefinitionId() != null) {
        return write.processDefinitionId();
      }
      String key = write.processDefinitionKey();
      if (key == null) {
        return null;
      }
      ProcessDefinition definition = ctx.runWithoutAuthorization(() -> {
        ProcessDefinitionQuery q = repository.createProcessDefinitionQuery().processDefinitionKey(key).latestVersion();
        q = write.tenantId() == null ? q : q.tenantIdIn(write.tenantId());
        List<ProcessDefinition> found = q.list();
        return found.size() == 1 ? found.get(0) : null;
      });
      return definition == null ? null : definition.getId();
    }
  }

  // forms --------------------------------------------------------------------------------------------

  private final Map<String, FormFields> formCache = new ConcurrentHashMap<>();

  interface FormSource {
    InputStream open();
  }

  /**
   * The fields of a form: a Camunda Form (formRef) is read from its deployed JSON (cached per
   * deployment when bound to the deployment, since that pairing never changes); a generated
   * form ({@code camunda:formField}) gives its field ids. Embedded HTML forms declare nothing.
   */
  FormFields fields(FormData data, FormSource source) {
    if (data == null) {
      return FormFields.NONE;
    }
    CamundaFormRef ref = data.getCamundaFormRef();
    if (ref != null && ref.getKey() != null) {
      String cacheKey = "deployment".equals(ref.getBinding()) ? data.getDeploymentId() + "#" + ref.getKey() : null;
      if (cacheKey != null) {
        FormFields cached = formCache.get(cacheKey);
        if (cached != null) {
          return cached;
        }
      }
      try (InputStream in = source.open()) {
        FormFields fields = FormFields.read(in);
        if (cacheKey != null) {
          formCache.put(cacheKey, fields);
        }
        return fields;
      } catch (java.io.IOException | RuntimeException e) {
        throw refused("the form '" + ref.getKey() + "' could not be read (" + e.getMessage() + "): no writes");
      }
    }
    List<FormField> generated = data.getFormFields();
    if (generated != null && !generated.isEmpty()) {
      Map<String, Boolean> names = new java.util.LinkedHashMap<>();
      for (FormField f : generated) {
        boolean readOnly = f.getValidationConstraints() != null && f.getValidationConstraints().stream()
            .anyMatch(c -> "readonly".equals(c.getName()));
        names.put(f.getId(), readOnly);
      }
      return new FormFields(data.getFormKey(), names);
    }
    return FormFields.NONE;
  }

  // values -------------------------------------------------------------------------------------------

  /**
   * Whether a submitted value equals the current one as Tasklist shows and re-submits it:
   * numbers compare by value (also when one side is text, since form text fields turn numbers
   * into text), text compares with line breaks and tabs as spaces (text fields flatten them),
   * and "nothing" (absent, null, empty text, false) equals nothing.
   */
  static boolean sameValue(Object submitted, Object current) {
    Object a = plain(submitted);
    Object b = plain(current);
    if (empty(b)) {
      return empty(a);
    }
    if (a == null) {
      return false;
    }
    BigDecimal na = number(a);
    BigDecimal nb = number(b);
    if (na != null && nb != null && (a instanceof Number || b instanceof Number)) {
      return na.compareTo(nb) == 0;
    }
    if (a instanceof Date da && b instanceof Date db) {
      return da.getTime() == db.getTime();
    }
    return flat(a.toString()).equals(flat(b.toString()));
  }

  private static Object plain(Object value) {
    if (value instanceof SerializableValue s && !s.isDeserialized()) {
      return s.getValueSerialized();
    }
    if (value instanceof SerializableValue s && s.getValueSerialized() != null) {
      return s.getValueSerialized();
    }
    if (value instanceof TypedValue t) {
      return t.getValue();
    }
    return value;
  }

  private static boolean empty(Object value) {
    return value == null || (value instanceof String s && s.isEmpty()) || Boolean.FALSE.equals(value);
  }

  private static BigDecimal number(Object value) {
    if (value instanceof Number n) {
      try {
        return new BigDecimal(n.toString());
      } catch (NumberFormatException e) {
        return null;
      }
    }
    if (value instanceof String s) {
      try {
        return new BigDecimal(s.trim());
      } catch (NumberFormatException e) {
        return null;
      }
    }
    return null;
  }

  private static String flat(String text) {
    return text.replaceAll("[\\r\\n\\t]", " ").trim();
  }

  static String names(Collection<String> a, Collection<String> b) {
    List<String> all = new ArrayList<>(a);
    all.addAll(b);
    return String.join(", ", all);
  }

  // deployment-time warning ---------------------------------------------------------------------------

  /** Warns when a start form (formRef, same deployment) declares a reserved variable. */
  final class ReservedStartFieldWarning implements Deployer {
    @Override
    public void deploy(DeploymentEntity deployment) {
      if (!deployment.isNew() || deployment.getResources() == null) {
        return;
      }
      try {
        Map<String, FormFields> formsById = new java.util.HashMap<>();
        for (ResourceEntity r : deployment.getResources().values()) {
          if (r.getName().endsWith(".form") && r.getBytes() != null) {
            FormFields f = FormFields.read(new ByteArrayInputStream(r.getBytes()));
            if (f.formId() != null) {
              formsById.put(f.formId(), f);
            }
          }
        }
        for (ResourceEntity r : deployment.getResources().values()) {
          if (!(r.getName().endsWith(".bpmn") || r.getName().endsWith(".bpmn20.xml")) || r.getBytes() == null) {
            continue;
          }
          BpmnModelInstance model = Bpmn.readModelFromStream(new ByteArrayInputStream(r.getBytes()));
          for (StartEvent start : model.getModelElementsByType(StartEvent.class)) {
            FormFields form = start.getCamundaFormRef() == null ? null : formsById.get(start.getCamundaFormRef());
            if (form == null) {
              continue;
            }
            List<String> declared = form.names().stream().filter(reserved::contains).toList();
            if (!declared.isEmpty()) {
              LOG.warn("Start form '{}' of {} ({}) declares reserved variable(s) {}: users' starts that pass "
                  + "them will be refused", form.formId(), start.getId(), r.getName(), declared);
            }
          }
        }
      } catch (Exception e) {
        LOG.warn("Could not check the start forms of deployment {} for reserved names: {}", deployment.getId(),
            e.toString());
      }
    }
  }
}
