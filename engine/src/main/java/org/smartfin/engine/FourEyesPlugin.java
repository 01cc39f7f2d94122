package org.smartfin.engine;

import java.time.OffsetDateTime;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.camunda.bpm.engine.ProcessEngineException;
import org.camunda.bpm.engine.RepositoryService;
import org.camunda.bpm.engine.history.HistoricProcessInstance;
import org.camunda.bpm.engine.delegate.DelegateExecution;
import org.camunda.bpm.engine.delegate.DelegateTask;
import org.camunda.bpm.engine.delegate.TaskListener;
import org.camunda.bpm.engine.impl.bpmn.behavior.UserTaskActivityBehavior;
import org.camunda.bpm.engine.impl.bpmn.parser.AbstractBpmnParseListener;
import org.camunda.bpm.engine.impl.bpmn.parser.BpmnParse;
import org.camunda.bpm.engine.impl.bpmn.parser.BpmnParseListener;
import org.camunda.bpm.engine.impl.cfg.AbstractProcessEnginePlugin;
import org.camunda.bpm.engine.impl.cfg.ProcessEngineConfigurationImpl;
import org.camunda.bpm.engine.impl.context.Context;
import org.camunda.bpm.engine.impl.history.HistoryLevel;
import org.camunda.bpm.engine.impl.identity.Authentication;
import org.camunda.bpm.engine.impl.interceptor.CommandContext;
import org.camunda.bpm.engine.impl.pvm.process.ActivityImpl;
import org.camunda.bpm.engine.impl.pvm.process.ScopeImpl;
import org.camunda.bpm.engine.impl.util.xml.Element;
import org.camunda.bpm.model.bpmn.BpmnModelInstance;
import org.camunda.bpm.model.bpmn.instance.BaseElement;
import org.camunda.bpm.model.bpmn.instance.ExtensionElements;
import org.camunda.bpm.model.bpmn.instance.camunda.CamundaProperties;
import org.camunda.bpm.model.bpmn.instance.camunda.CamundaProperty;
import org.camunda.spin.plugin.variable.SpinValues;
import org.springframework.stereotype.Component;

/**
 * Four-eyes rule and decision trail for user tasks, enforced inside the engine.
 *
 * <p>A user task opts in with an extension property:
 * <pre>
 * &lt;camunda:properties&gt;
 *   &lt;camunda:property name="fourEyes" value="requester"/&gt;
 * &lt;/camunda:properties&gt;
 * </pre>
 * The users who must not work on the task are the process instance's start user as
 * recorded by the engine's history (the authenticated user of the starting call) and the
 * user named by the process variable the property names (e.g. {@code requester}, set by
 * the service; users cannot write it, see {@link WriteGuardPlugin}). Assigning (claiming)
 * the task to such a user, or completing it while authenticated as one, fails with a
 * {@link ProcessEngineException} whose message starts with {@code FOUR_EYES:}. Every
 * allowed completion appends a record to the Json process variable {@code decisions}
 * (for display: the authenticated facts are the engine's history) and adds a task comment.
 *
 * <p>{@code <camunda:property name="recordDecision" value="true"/>} records
 * decisions for a task without the four-eyes check. {@code <camunda:property name="step"
 * value="..."/>} (or a task-local variable {@code step}) adds {@code "step"} to the record.
 */
@Component
public class FourEyesPlugin extends AbstractProcessEnginePlugin {

  public static final String PROPERTY_FOUR_EYES = "fourEyes";
  public static final String PROPERTY_RECORD_DECISION = "recordDecision";
  public static final String PROPERTY_STEP = "step";
  public static final String VAR_DECISIONS = "decisions";
  public static final String VAR_DECISION = "decision";
  public static final String VAR_COMMENT = "comment";
  public static final String ERROR_PREFIX = "FOUR_EYES:";

  private static final ObjectMapper JSON = new ObjectMapper();
  private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSxxx");

  @Override
  public void preInit(ProcessEngineConfigurationImpl configuration) {
    List<BpmnParseListener> listeners = configuration.getCustomPreBPMNParseListeners();
    if (listeners == null) {
      listeners = new ArrayList<>();
      configuration.setCustomPreBPMNParseListeners(listeners);
    }
    listeners.add(new ParseListener());
  }

  static final class ParseListener extends AbstractBpmnParseListener {
    @Override
    public void parseUserTask(Element element, ScopeImpl scope, ActivityImpl activity) {
      if (!(activity.getActivityBehavior() instanceof UserTaskActivityBehavior behavior)) {
        return;
      }
      Map<String, String> props = extensionProperties(element);
      String excluded = props.get(PROPERTY_FOUR_EYES);
      boolean record = excluded != null || "true".equalsIgnoreCase(props.get(PROPERTY_RECORD_DECISION));
      if (!record) {
        return;
      }
      DecisionListener listener = new DecisionListener(blankToNull(excluded), blankToNull(props.get(PROPERTY_STEP)));
      if (listener.excludedVariable != null) {
        behavior.getTaskDefinition().addBuiltInTaskListener(TaskListener.EVENTNAME_ASSIGNMENT, listener);
      }
      behavior.getTaskDefinition().addBuiltInTaskListener(TaskListener.EVENTNAME_COMPLETE, listener);
    }
  }

  static Map<String, String> extensionProperties(Element element) {
    Map<String, String> result = new LinkedHashMap<>();
    Element ext = element.element("extensionElements");
    if (ext == null) {
      return result;
    }
    Element properties = ext.elementNS(BpmnParse.CAMUNDA_BPMN_EXTENSIONS_NS, "properties");
    if (properties == null) {
      return result;
    }
    for (Element p : properties.elementsNS(BpmnParse.CAMUNDA_BPMN_EXTENSIONS_NS, "property")) {
      String name = p.attribute("name");
      if (name != null) {
        result.put(name, p.attribute("value"));
      }
    }
    return result;
  }

  static final class DecisionListener implements TaskListener {
    final String excludedVariable;
    final String step;

    DecisionListener(String excludedVariable, String step) {
      this.excludedVariable = excludedVariable;
      this.step = step;
    }

    @Override
    public void notify(DelegateTask task) {
      String event = task.getEventName();
      if (EVENTNAME_ASSIGNMENT.equals(event)) {
        String assignee = task.getAssignee();
        if (assignee != null && excludedVariable != null && excludedUsers(task).contains(assignee)) {
          throw violation(task, assignee);
        }
      } else if (EVENTNAME_COMPLETE.equals(event)) {
        String user = currentUser(task);
        if (user != null && excludedVariable != null && excludedUsers(task).contains(user)) {
          throw violation(task, user);
        }
        record(task, user);
      }
    }

    Set<String> excludedUsers(DelegateTask task) {
      Object value = excludedVariable == null ? null : task.getVariable(excludedVariable);
      return FourEyesPlugin.excludedUsers(task.getProcessInstanceId(), value);
    }

    ProcessEngineException violation(DelegateTask task, String user) {
      DelegateExecution execution = task.getExecution();
      String key = execution == null ? null : execution.getProcessBusinessKey();
      return FourEyesPlugin.violation(key, task.getProcessInstanceId(), task.getId(), task.getTaskDefinitionKey(),
          user);
    }

    void record(DelegateTask task, String authenticatedUser) {
      DelegateExecution execution = task.getExecution();
      String user = authenticatedUser != null ? authenticatedUser
          : (task.getAssignee() != null ? task.getAssignee() : "system");
      String outcome = asString(task.getVariable(VAR_DECISION));
      String comment = asString(task.getVariable(VAR_COMMENT));

      ObjectNode entry = JSON.createObjectNode();
      entry.put("task", task.getTaskDefinitionKey());
      entry.put("taskName", task.getName());
      String stepName = step != null ? step : asString(task.getVariableLocal(PROPERTY_STEP));
      if (stepName != null) {
        entry.put("step", stepName);
      }
      entry.put("user", user);
      entry.put("time", OffsetDateTime.now().truncatedTo(ChronoUnit.MILLIS).format(TIME));
      entry.put("outcome", outcome);
      entry.put("comment", comment);

      if (execution != null) {
        DelegateExecution instance = execution.getProcessInstance();
        ArrayNode list = readDecisions(instance);
        list.add(entry);
        instance.setVariable(VAR_DECISIONS, SpinValues.jsonValue(list.toString()).create());
      }

      String message = commentText(outcome, comment);
      if (message != null) {
        String processInstanceId = execution == null ? null : execution.getProcessInstanceId();
        CommandContext ctx = Context.getCommandContext();
        if (ctx != null) {
          ctx.runWithoutAuthorization(() -> task.getProcessEngineServices().getTaskService()
              .createComment(task.getId(), processInstanceId, message));
        } else {
          task.getProcessEngineServices().getTaskService()
              .createComment(task.getId(), processInstanceId, message);
        }
      }
    }
  }

  /** The four-eyes refusal, naming the document (business key) or the process instance. */
  static ProcessEngineException violation(String businessKey, String processInstanceId, String taskId,
                                          String taskDefinitionKey, String user) {
    String ref = businessKey != null ? businessKey : (processInstanceId != null ? processInstanceId : taskId);
    return new ProcessEngineException(ERROR_PREFIX + " 申请人不能审批本人的申请 / the requester cannot approve "
        + "their own request " + ref + " (user " + user + ", task " + taskDefinitionKey + " " + taskId + ")");
  }

  /**
   * Users excluded from a four-eyes task: the instance's start user from history (the
   * authenticated starter) and the value of the task's four-eyes variable. Runs inside a
   * command. An instance started in the current command has no visible history row yet; its
   * start user is then the current command's authenticated user (that is how the engine
   * records it).
   */
  static Set<String> excludedUsers(String processInstanceId, Object variableValue) {
    Set<String> users = new LinkedHashSet<>();
    String starter = startUserId(processInstanceId);
    if (starter != null) {
      users.add(starter);
    }
    if (variableValue != null && !variableValue.toString().isBlank()) {
      users.add(variableValue.toString());
    }
    return users;
  }

  static String startUserId(String processInstanceId) {
    if (processInstanceId == null) {
      return null;
    }
    CommandContext ctx = Context.getCommandContext();
    ProcessEngineConfigurationImpl cfg = ctx.getProcessEngineConfiguration();
    HistoricProcessInstance history = ctx.runWithoutAuthorization(() -> cfg.getHistoryService()
        .createHistoricProcessInstanceQuery().processInstanceId(processInstanceId).singleResult());
    if (history != null) {
      return history.getStartUserId();
    }
    if (HistoryLevel.HISTORY_LEVEL_NONE.equals(cfg.getHistoryLevel())) {
      return null;
    }
    return ctx.getAuthenticatedUserId();
  }

  private static final Map<String, Map<String, String>> TASK_PROPERTIES = new ConcurrentHashMap<>();

  /**
   * The {@code camunda:property} entries of a model element (e.g. a user task), read from the
   * deployed model (definitions never change, so the result is cached).
   */
  static Map<String, String> elementProperties(RepositoryService repository, String processDefinitionId,
                                               String elementId) {
    if (processDefinitionId == null || elementId == null) {
      return Map.of();
    }
    return TASK_PROPERTIES.computeIfAbsent(processDefinitionId + "#" + elementId, k -> {
      BpmnModelInstance model = repository.getBpmnModelInstance(processDefinitionId);
      Map<String, String> result = new LinkedHashMap<>();
      if (model != null && model.getModelElementById(elementId) instanceof BaseElement element) {
        ExtensionElements ext = element.getExtensionElements();
        if (ext != null) {
          Collection<CamundaProperties> all = ext.getChildElementsByType(CamundaProperties.class);
          for (CamundaProperties properties : all) {
            for (CamundaProperty p : properties.getCamundaProperties()) {
              if (p.getCamundaName() != null) {
                result.put(p.getCamundaName(), p.getCamundaValue());
              }
            }
          }
        }
      }
      return java.util.Collections.unmodifiableMap(result);
    });
  }

  static String currentUser(DelegateTask task) {
    CommandContext ctx = Context.getCommandContext();
    if (ctx != null) {
      return ctx.getAuthenticatedUserId();
    }
    Authentication a = task.getProcessEngineServices().getIdentityService().getCurrentAuthentication();
    return a == null ? null : a.getUserId();
  }

  static ArrayNode readDecisions(DelegateExecution instance) {
    // Read the deserialized value: a Spin JSON node whose toString() is the JSON text.
    Object current = instance.getVariable(VAR_DECISIONS);
    if (current == null) {
      return JSON.createArrayNode();
    }
    String text = current.toString();
    if (text.isBlank()) {
      return JSON.createArrayNode();
    }
    try {
      var node = JSON.readTree(text);
      if (node instanceof ArrayNode array) {
        return array;
      }
      ArrayNode wrapped = JSON.createArrayNode();
      wrapped.add(node);
      return wrapped;
    } catch (Exception e) {
      throw new ProcessEngineException("variable '" + VAR_DECISIONS + "' is not valid JSON: " + e.getMessage(), e);
    }
  }

  static String commentText(String outcome, String comment) {
    if (outcome == null && comment == null) {
      return null;
    }
    if (outcome == null) {
      return comment;
    }
    return comment == null ? outcome : outcome + ": " + comment;
  }

  static String asString(Object value) {
    return value == null ? null : value.toString();
  }

  static String blankToNull(String s) {
    return s == null || s.isBlank() ? null : s.trim();
  }
}
