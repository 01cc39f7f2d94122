package org.smartfin.engine;

import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.camunda.bpm.engine.impl.MessageCorrelationBuilderImpl;
import org.camunda.bpm.engine.impl.ProcessInstantiationBuilderImpl;
import org.camunda.bpm.engine.impl.SignalEventReceivedBuilderImpl;
import org.camunda.bpm.engine.impl.cmd.AbstractAddIdentityLinkCmd;
import org.camunda.bpm.engine.impl.cmd.AbstractCorrelateMessageCmd;
import org.camunda.bpm.engine.impl.cmd.AbstractPatchVariablesCmd;
import org.camunda.bpm.engine.impl.cmd.AbstractRemoveVariableCmd;
import org.camunda.bpm.engine.impl.cmd.AbstractRestartProcessInstanceCmd;
import org.camunda.bpm.engine.impl.cmd.AbstractSetExternalTaskRetriesCmd;
import org.camunda.bpm.engine.impl.cmd.AbstractSetTaskPropertyCmd;
import org.camunda.bpm.engine.impl.cmd.AbstractSetVariableCmd;
import org.camunda.bpm.engine.impl.cmd.AbstractVariableCmd;
import org.camunda.bpm.engine.impl.cmd.AbstractWritableIdentityServiceCmd;
import org.camunda.bpm.engine.impl.cmd.AddGroupIdentityLinkCmd;
import org.camunda.bpm.engine.impl.cmd.AddIdentityLinkForProcessDefinitionCmd;
import org.camunda.bpm.engine.impl.cmd.AddUserIdentityLinkCmd;
import org.camunda.bpm.engine.impl.cmd.AssignTaskCmd;
import org.camunda.bpm.engine.impl.cmd.CheckPassword;
import org.camunda.bpm.engine.impl.cmd.ClaimTaskCmd;
import org.camunda.bpm.engine.impl.cmd.CompleteTaskCmd;
import org.camunda.bpm.engine.impl.cmd.CreateGroupCmd;
import org.camunda.bpm.engine.impl.cmd.CreateMembershipCmd;
import org.camunda.bpm.engine.impl.cmd.CreateTaskCmd;
import org.camunda.bpm.engine.impl.cmd.DelegateTaskCmd;
import org.camunda.bpm.engine.impl.cmd.DeleteGroupCmd;
import org.camunda.bpm.engine.impl.cmd.DeleteIdentityLinkCmd;
import org.camunda.bpm.engine.impl.cmd.DeleteIdentityLinkForProcessDefinitionCmd;
import org.camunda.bpm.engine.impl.cmd.DeleteMembershipCmd;
import org.camunda.bpm.engine.impl.cmd.DeleteProcessInstanceCommentCmd;
import org.camunda.bpm.engine.impl.cmd.DeleteTaskCmd;
import org.camunda.bpm.engine.impl.cmd.DeleteTaskCommentCmd;
import org.camunda.bpm.engine.impl.cmd.ExternalTaskCmd;
import org.camunda.bpm.engine.impl.cmd.FetchExternalTasksCmd;
import org.camunda.bpm.engine.impl.cmd.HandleTaskBpmnErrorCmd;
import org.camunda.bpm.engine.impl.cmd.HandleTaskEscalationCmd;
import org.camunda.bpm.engine.impl.cmd.MessageEventReceivedCmd;
import org.camunda.bpm.engine.impl.cmd.ModifyProcessInstanceAsyncCmd;
import org.camunda.bpm.engine.impl.cmd.ModifyProcessInstanceCmd;
import org.camunda.bpm.engine.impl.cmd.PatchExecutionVariablesCmd;
import org.camunda.bpm.engine.impl.cmd.PatchTaskVariablesCmd;
import org.camunda.bpm.engine.impl.cmd.ProcessInstanceModificationBatchCmd;
import org.camunda.bpm.engine.impl.cmd.ProcessInstanceModificationCmd;
import org.camunda.bpm.engine.impl.cmd.RemoveExecutionVariablesCmd;
import org.camunda.bpm.engine.impl.cmd.RemoveTaskVariablesCmd;
import org.camunda.bpm.engine.impl.cmd.ResolveTaskCmd;
import org.camunda.bpm.engine.impl.cmd.SaveGroupCmd;
import org.camunda.bpm.engine.impl.cmd.SaveTaskCmd;
import org.camunda.bpm.engine.impl.cmd.SetExecutionVariablesCmd;
import org.camunda.bpm.engine.impl.cmd.SetTaskOwnerCmd;
import org.camunda.bpm.engine.impl.cmd.SetTaskVariablesCmd;
import org.camunda.bpm.engine.impl.cmd.SignalCmd;
import org.camunda.bpm.engine.impl.cmd.SignalEventReceivedCmd;
import org.camunda.bpm.engine.impl.cmd.StartProcessInstanceAtActivitiesCmd;
import org.camunda.bpm.engine.impl.cmd.StartProcessInstanceCmd;
import org.camunda.bpm.engine.impl.cmd.SubmitStartFormCmd;
import org.camunda.bpm.engine.impl.cmd.SubmitTaskFormCmd;
import org.camunda.bpm.engine.impl.cmd.UpdateCommentCmd;
import org.camunda.bpm.engine.impl.cmd.batch.variables.SetVariablesToProcessInstancesBatchCmd;
import org.camunda.bpm.engine.identity.Group;
import org.camunda.bpm.engine.impl.interceptor.Command;
import org.camunda.bpm.engine.impl.migration.MigrateProcessInstanceCmd;

/**
 * Reads what an engine command is about to write. This is the only class that knows the
 * engine's internal command classes and their fields (pinned to Camunda 7.24.0: the fields
 * read by reflection are listed in {@link #REFLECTED_FIELDS} and checked at start by
 * {@link #verify()}, so an engine upgrade that renames one stops the start instead of
 * silently opening a hole).
 *
 * <p>A command the guard does not know is {@link Kind#OTHER}: authorizations alone decide.
 */
final class EngineCommands {

  /** What a command does, in the guard's terms. */
  enum Kind {
    /** set / patch / remove task variables ({@code local} tells which scope) */
    TASK_VARIABLES,
    /** complete or submit the task form, with variables */
    TASK_COMPLETE,
    /** resolve a delegated task, with variables */
    TASK_RESOLVE,
    /** BPMN error or escalation thrown from a user task, with variables */
    TASK_ERROR,
    CLAIM,
    /** set or clear the assignee */
    ASSIGN,
    DELEGATE,
    /** add/remove candidate users or groups or other identity links, set the owner */
    TASK_IDENTITY_LINK,
    /** save (PUT /task/{id}), create, delete, priority, name, description, due and follow-up dates */
    TASK_PROPERTY,
    /** change or delete comments (the decision and delegation trail) */
    COMMENT_CHANGE,
    /** variables of a process instance or execution, directly or in a batch */
    EXECUTION_VARIABLES,
    /** process instance modification, restart, migration */
    MODIFICATION,
    /** start (REST start, submit-form) with start variables */
    START,
    /** start at chosen activities (skips the model's path) */
    START_AT_ACTIVITIES,
    /** message correlation / message trigger, possibly with variables */
    MESSAGE,
    /** signal, possibly with variables */
    SIGNAL,
    /** external task fetch, complete, failure, retries: the workers' job */
    EXTERNAL_TASK,
    /** candidate starters of a process definition */
    DEFINITION_IDENTITY_LINK,
    CHECK_PASSWORD,
    /**
     * users, groups, memberships, tenants written through the identity service; {@code groupId},
     * {@code groupType} and {@code userId} say which group / member (null for other identity writes)
     */
    IDENTITY_WRITE,
    OTHER
  }

  /** The guard's view of one command. Absent values are null / empty. */
  record Write(Kind kind, String taskId, String userId, Map<String, Object> variables,
               Collection<String> deletions, boolean local, String processDefinitionId,
               String processDefinitionKey, String tenantId, String password, String groupId,
               String groupType) {

    Write(Kind kind, String taskId, String userId, Map<String, Object> variables,
          Collection<String> deletions, boolean local, String processDefinitionId,
          String processDefinitionKey, String tenantId, String password) {
      this(kind, taskId, userId, variables, deletions, local, processDefinitionId, processDefinitionKey, tenantId,
          password, null, null);
    }

    static Write identity(String groupId, String groupType, String userId) {
      return new Write(Kind.IDENTITY_WRITE, null, userId, Map.of(), List.of(), false, null, null, null, null,
          groupId, groupType);
    }

    static Write of(Kind kind) {
      return new Write(kind, null, null, Map.of(), List.of(), false, null, null, null, null);
    }

    static Write task(Kind kind, String taskId) {
      return new Write(kind, taskId, null, Map.of(), List.of(), false, null, null, null, null);
    }

    static Write taskUser(Kind kind, String taskId, String userId) {
      return new Write(kind, taskId, userId, Map.of(), List.of(), false, null, null, null, null);
    }

    static Write taskVariables(Kind kind, String taskId, Map<String, ?> variables,
                               Collection<String> deletions, boolean local) {
      return new Write(kind, taskId, null, copy(variables), deletions == null ? List.of() : List.copyOf(deletions),
          local, null, null, null, null);
    }

    static Write withVariables(Kind kind, Map<String, ?> variables) {
      return new Write(kind, null, null, copy(variables), List.of(), false, null, null, null, null);
    }
  }

  /** Fields read by reflection: class → field name (declared on that class or a superclass). */
  static final Map<Class<?>, List<String>> REFLECTED_FIELDS = Map.ofEntries(
      Map.entry(AbstractVariableCmd.class, List.of("entityId", "isLocal")),
      Map.entry(AbstractSetVariableCmd.class, List.of("variables")),
      Map.entry(AbstractPatchVariablesCmd.class, List.of("entityId", "variables", "deletions", "isLocal")),
      Map.entry(AbstractRemoveVariableCmd.class, List.of("variableNames")),
      Map.entry(CompleteTaskCmd.class, List.of("taskId", "variables")),
      Map.entry(SubmitTaskFormCmd.class, List.of("taskId", "properties")),
      Map.entry(HandleTaskBpmnErrorCmd.class, List.of("taskId")),
      Map.entry(HandleTaskEscalationCmd.class, List.of("taskId")),
      Map.entry(ClaimTaskCmd.class, List.of("taskId", "userId")),
      Map.entry(DelegateTaskCmd.class, List.of("taskId", "userId")),
      Map.entry(AbstractSetTaskPropertyCmd.class, List.of("taskId")),
      Map.entry(AbstractAddIdentityLinkCmd.class, List.of("userId")),
      Map.entry(DeleteIdentityLinkCmd.class, List.of("taskId")),
      Map.entry(SubmitStartFormCmd.class, List.of("processDefinitionId", "variables")),
      Map.entry(StartProcessInstanceCmd.class, List.of("instantiationBuilder")),
      Map.entry(AbstractCorrelateMessageCmd.class, List.of("builder")),
      Map.entry(MessageEventReceivedCmd.class,
          List.of("processVariables", "processVariablesLocal", "processVariablesToTriggeredScope")),
      Map.entry(SignalCmd.class, List.of("processVariables")),
      Map.entry(SignalEventReceivedCmd.class, List.of("builder")),
      Map.entry(CheckPassword.class, List.of("userId", "password")),
      Map.entry(CreateGroupCmd.class, List.of("groupId")),
      Map.entry(SaveGroupCmd.class, List.of("group")),
      Map.entry(DeleteGroupCmd.class, List.of("groupId")),
      Map.entry(CreateMembershipCmd.class, List.of("userId", "groupId")),
      Map.entry(DeleteMembershipCmd.class, List.of("userId", "groupId")));

  private EngineCommands() {
  }

  /** Fails when a field this class reads does not exist in the running engine. */
  static void verify() {
    List<String> missing = new ArrayList<>();
    REFLECTED_FIELDS.forEach((type, names) -> {
      for (String name : names) {
        if (findField(type, name) == null) {
          missing.add(type.getName() + "." + name);
        }
      }
    });
    if (!missing.isEmpty()) {
      throw new IllegalStateException("SmartFin write guard: engine command fields not found (engine version "
          + "differs from the one the guard was written for): " + missing);
    }
  }

  static Write describe(Command<?> command) {
    // task variables ---------------------------------------------------------------------------
    if (command instanceof SetTaskVariablesCmd c) {
      return Write.taskVariables(Kind.TASK_VARIABLES, str(c, "entityId"), map(c, "variables"), null,
          bool(c, "isLocal"));
    }
    if (command instanceof PatchTaskVariablesCmd c) {
      return Write.taskVariables(Kind.TASK_VARIABLES, str(c, "entityId"), map(c, "variables"),
          names(c, "deletions"), bool(c, "isLocal"));
    }
    if (command instanceof RemoveTaskVariablesCmd c) {
      return Write.taskVariables(Kind.TASK_VARIABLES, str(c, "entityId"), null, names(c, "variableNames"),
          bool(c, "isLocal"));
    }
    // ResolveTaskCmd extends CompleteTaskCmd: test it first
    if (command instanceof ResolveTaskCmd c) {
      return Write.taskVariables(Kind.TASK_RESOLVE, str(c, "taskId"), map(c, "variables"), null, false);
    }
    if (command instanceof CompleteTaskCmd c) {
      return Write.taskVariables(Kind.TASK_COMPLETE, str(c, "taskId"), map(c, "variables"), null, false);
    }
    if (command instanceof SubmitTaskFormCmd c) {
      return Write.taskVariables(Kind.TASK_COMPLETE, str(c, "taskId"), map(c, "properties"), null, false);
    }
    if (command instanceof HandleTaskBpmnErrorCmd c) {
      return Write.task(Kind.TASK_ERROR, str(c, "taskId"));
    }
    if (command instanceof HandleTaskEscalationCmd c) {
      return Write.task(Kind.TASK_ERROR, str(c, "taskId"));
    }
    // assignment and identity links --------------------------------------------------------------
    if (command instanceof ClaimTaskCmd c) {
      return Write.taskUser(Kind.CLAIM, str(c, "taskId"), str(c, "userId"));
    }
    if (command instanceof AssignTaskCmd c) {
      return Write.taskUser(Kind.ASSIGN, str(c, "taskId"), str(c, "userId"));
    }
    if (command instanceof DelegateTaskCmd c) {
      return Write.taskUser(Kind.DELEGATE, str(c, "taskId"), str(c, "userId"));
    }
    if (command instanceof SetTaskOwnerCmd || command instanceof AddUserIdentityLinkCmd
        || command instanceof AddGroupIdentityLinkCmd) {
      return Write.task(Kind.TASK_IDENTITY_LINK, str(command, "taskId"));
    }
    if (command instanceof DeleteIdentityLinkCmd c) {
      return Write.task(Kind.TASK_IDENTITY_LINK, str(c, "taskId"));
    }
    if (command instanceof AbstractSetTaskPropertyCmd<?> c) {
      return Write.task(Kind.TASK_PROPERTY, str(c, "taskId"));
    }
    if (command instanceof SaveTaskCmd || command instanceof CreateTaskCmd || command instanceof DeleteTaskCmd) {
      return Write.of(Kind.TASK_PROPERTY);
    }
    if (command instanceof DeleteTaskCommentCmd || command instanceof DeleteProcessInstanceCommentCmd
        || command instanceof UpdateCommentCmd) {
      return Write.of(Kind.COMMENT_CHANGE);
    }
    // process instances ---------------------------------------------------------------------------
    if (command instanceof SetExecutionVariablesCmd || command instanceof PatchExecutionVariablesCmd
        || command instanceof RemoveExecutionVariablesCmd
        || command instanceof SetVariablesToProcessInstancesBatchCmd) {
      return Write.of(Kind.EXECUTION_VARIABLES);
    }
    if (command instanceof ModifyProcessInstanceCmd || command instanceof ModifyProcessInstanceAsyncCmd
        || command instanceof ProcessInstanceModificationCmd || command instanceof ProcessInstanceModificationBatchCmd
        || command instanceof AbstractRestartProcessInstanceCmd<?> || command instanceof MigrateProcessInstanceCmd) {
      return Write.of(Kind.MODIFICATION);
    }
    if (command instanceof StartProcessInstanceAtActivitiesCmd) {
      return Write.of(Kind.START_AT_ACTIVITIES);
    }
    if (command instanceof StartProcessInstanceCmd c) {
      ProcessInstantiationBuilderImpl b = (ProcessInstantiationBuilderImpl) read(c, "instantiationBuilder");
      return new Write(Kind.START, null, null, copy(b.getVariables()), List.of(), false,
          b.getProcessDefinitionId(), b.getProcessDefinitionKey(), b.getTenantId(), null);
    }
    if (command instanceof SubmitStartFormCmd c) {
      return new Write(Kind.START, null, null, map(c, "variables"), List.of(), false,
          str(c, "processDefinitionId"), null, null, null);
    }
    if (command instanceof AbstractCorrelateMessageCmd c) {
      MessageCorrelationBuilderImpl b = (MessageCorrelationBuilderImpl) read(c, "builder");
      Map<String, Object> all = new LinkedHashMap<>();
      putAll(all, b.getPayloadProcessInstanceVariables());
      putAll(all, b.getPayloadProcessInstanceVariablesLocal());
      putAll(all, b.getPayloadProcessInstanceVariablesToTriggeredScope());
      return Write.withVariables(Kind.MESSAGE, all);
    }
    if (command instanceof MessageEventReceivedCmd c) {
      Map<String, Object> all = new LinkedHashMap<>();
      putAll(all, map(c, "processVariables"));
      putAll(all, map(c, "processVariablesLocal"));
      putAll(all, map(c, "processVariablesToTriggeredScope"));
      return Write.withVariables(Kind.MESSAGE, all);
    }
    if (command instanceof SignalCmd c) {
      return Write.withVariables(Kind.SIGNAL, map(c, "processVariables"));
    }
    if (command instanceof SignalEventReceivedCmd c) {
      SignalEventReceivedBuilderImpl b = (SignalEventReceivedBuilderImpl) read(c, "builder");
      return Write.withVariables(Kind.SIGNAL, b.getVariables());
    }
    if (command instanceof ExternalTaskCmd || command instanceof FetchExternalTasksCmd
        || command instanceof AbstractSetExternalTaskRetriesCmd<?>) {
      return Write.of(Kind.EXTERNAL_TASK);
    }
    if (command instanceof AddIdentityLinkForProcessDefinitionCmd
        || command instanceof DeleteIdentityLinkForProcessDefinitionCmd) {
      return Write.of(Kind.DEFINITION_IDENTITY_LINK);
    }
    if (command instanceof CheckPassword c) {
      return new Write(Kind.CHECK_PASSWORD, null, str(c, "userId"), Map.of(), List.of(), false, null, null, null,
          str(c, "password"));
    }
    // identity: only the deputy groups may be written by the service (see WriteGuardPlugin) ----------
    if (command instanceof SaveGroupCmd c) {
      Group group = (Group) read(c, "group");
      return Write.identity(group == null ? null : group.getId(), group == null ? null : group.getType(), null);
    }
    if (command instanceof CreateGroupCmd c) {
      return Write.identity(str(c, "groupId"), null, null);
    }
    if (command instanceof DeleteGroupCmd c) {
      return Write.identity(str(c, "groupId"), null, null);
    }
    if (command instanceof CreateMembershipCmd c) {
      return Write.identity(str(c, "groupId"), null, str(c, "userId"));
    }
    if (command instanceof DeleteMembershipCmd c) {
      return Write.identity(str(c, "groupId"), null, str(c, "userId"));
    }
    if (command instanceof AbstractWritableIdentityServiceCmd<?>) {
      return Write.identity(null, null, null);
    }
    return Write.of(Kind.OTHER);
  }

  // reflection ----------------------------------------------------------------------------------

  private static Field findField(Class<?> type, String name) {
    for (Class<?> t = type; t != null && t != Object.class; t = t.getSuperclass()) {
      try {
        return t.getDeclaredField(name);
      } catch (NoSuchFieldException e) {
        // look further up
      }
    }
    return null;
  }

  private static Object read(Object target, String name) {
    Field field = findField(target.getClass(), name);
    if (field == null) {
      throw new IllegalStateException("SmartFin write guard: no field " + name + " on " + target.getClass().getName());
    }
    try {
      field.setAccessible(true);
      return field.get(target);
    } catch (ReflectiveOperationException | RuntimeException e) {
      throw new IllegalStateException("SmartFin write guard: cannot read " + target.getClass().getName() + "."
          + name, e);
    }
  }

  private static String str(Object target, String name) {
    Object value = read(target, name);
    return value == null ? null : value.toString();
  }

  private static boolean bool(Object target, String name) {
    return Boolean.TRUE.equals(read(target, name));
  }

  @SuppressWarnings("unchecked")
  private static Map<String, Object> map(Object target, String name) {
    return (Map<String, Object>) read(target, name);
  }

  @SuppressWarnings("unchecked")
  private static Collection<String> names(Object target, String name) {
    return (Collection<String>) read(target, name);
  }

  private static void putAll(Map<String, Object> into, Map<String, ?> from) {
    if (from != null) {
      into.putAll(from);
    }
  }

  /**
   * A plain copy keyed by name; values stay as given (typed values included), so a
   * {@code VariableMap}'s typed entries keep their type.
   */
  private static Map<String, Object> copy(Map<String, ?> variables) {
    if (variables == null || variables.isEmpty()) {
      return Map.of();
    }
    Map<String, Object> result = new LinkedHashMap<>();
    if (variables instanceof org.camunda.bpm.engine.variable.VariableMap vm) {
      for (String name : vm.keySet()) {
        result.put(name, vm.getValueTyped(name));
      }
    } else {
      result.putAll(variables);
    }
    return result;
  }
}
