@data-plane @ui @requires-multiuser @requires-gateway
Feature: The UI shows a user only the namespace they chose
  Kubeflow's UI lets a user pick one of their namespaces and shows only that namespace's
  experiments and runs; what they create there lands there. The browser scenarios drive a UI
  through a real browser (the emulator's UI); the API scenarios make the calls a UI makes, so
  they hold on every deployment.

  Background: one experiment in each namespace
    Given alice created an experiment "alice-plans" in alice
    And bob created an experiment "bob-plans" in bob

  @requires-ui-driver
  Scenario: In the browser, each user sees only the namespace they chose
    When alice signs in to the UI and chooses alice
    Then the UI offers exactly the namespaces alice
    And the UI lists exactly the experiments "alice-plans"
    When bob signs in to the UI and chooses bob
    Then the UI offers exactly the namespaces bob
    And the UI lists exactly the experiments "bob-plans"

  @requires-ui-driver
  Scenario: In the browser, what a user creates lands in the namespace they chose
    When alice signs in to the UI and chooses alice
    And alice creates the experiment "from-the-ui" in the UI
    And alice starts the run "ui-run" of the demo pipeline in the experiment "from-the-ui" in the UI
    Then the experiment "from-the-ui" exists in alice only
    And the run "ui-run" exists in alice only

  Scenario: The namespaces a UI offers are the user's own
    When alice asks the dashboard which namespaces she may use
    Then the namespaces offered are exactly alice
    When bob asks the dashboard which namespaces he may use
    Then the namespaces offered are exactly bob

  Scenario: The UI's calls for another user's namespace are refused
    When alice makes the UI's experiment list call for alice
    Then the request succeeds
    And the listed experiments are exactly "alice-plans"
    When bob makes the UI's experiment list call for alice
    Then the request is denied
    When alice makes the UI's run list call for alice
    Then the request succeeds
    When bob makes the UI's run list call for alice
    Then the request is denied

  @ISO-017
  Scenario: The UI server's generic proxy is gone
    When bob sends GET /apis/v2beta1/healthz through the gateway
    Then the request succeeds
    When bob sends GET /apis/v1beta1/_proxy/http%3A%2F%2Fml-pipeline.kubeflow%3A8888%2Fapis%2Fv2beta1%2Fhealthz through the gateway
    Then the UI server refuses with 410 "The generic /_proxy/ endpoint is deprecated and no longer supported."
    When bob sends GET /apis/v2beta1/_proxy/http%3A%2F%2Fml-pipeline.kubeflow%3A8888%2Fapis%2Fv2beta1%2Fhealthz through the gateway
    Then the UI server refuses with 410 "The generic /_proxy/ endpoint is deprecated and no longer supported."

  @ISO-017
  Scenario: A Referer naming the generic proxy does not send the UI's own pages elsewhere
    When bob sends GET / through the gateway
    Then the UI server serves its web page
    When bob sends GET / through the gateway with the Referer /apis/v1beta1/_proxy/http%3A%2F%2Fml-pipeline.kubeflow%3A8888%2F
    Then the UI server serves its web page
