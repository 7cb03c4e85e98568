@core @namespace-input @requires-multiuser
Feature: The REST API's namespace input and its 400 answers
  In multi-user mode every create and list of experiments, runs and recurring runs needs a
  scope: a namespace, or an experiment whose namespace then decides. A request without one is
  refused with the exact 400 of the API server (an empty namespace and "-" count as none), and
  creates nothing. Each refusal follows the same request with its scope, which succeeds.

  Background: alice's experiment, run and recurring run, made by alice (the positive control)
    Given alice created an experiment "plans" in alice
    And alice created a run "r1" in the experiment "plans"
    And alice created a disabled recurring run "paused" in the experiment "plans"

  Scenario: An experiment cannot be created without a namespace
    When alice creates an experiment "loose" without a namespace
    Then the request fails with 400 "An experiment cannot have an empty namespace in multi-user mode"
    And nothing was created in alice

  Scenario: A run cannot be started without an experiment
    When alice creates a run "loose" without an experiment
    Then the request fails with 400 "Experiment id can not be empty in multi-user mode"
    And no run was created in alice

  Scenario: A recurring run cannot be scheduled without an experiment
    When alice creates a recurring run "loose" without an experiment
    Then the request fails with 400 "Experiment id can not be empty in multi-user mode"
    And no recurring run was created in alice

  Scenario Outline: Listing <what> needs a scope (<unscoped>)
    When alice sends GET <scoped>
    Then the request succeeds
    When alice sends GET <unscoped>
    Then the request fails with 400 "<message>"

    Examples: v2beta1
      | what            | scoped                                                     | unscoped                                 | message                                                            |
      | experiments     | /apis/v2beta1/experiments?namespace={namespace:alice}      | /apis/v2beta1/experiments                | An experiment cannot have an empty namespace in multi-user mode    |
      | experiments     | /apis/v2beta1/experiments?namespace={namespace:alice}      | /apis/v2beta1/experiments?namespace=-    | An experiment cannot have an empty namespace in multi-user mode    |
      | runs            | /apis/v2beta1/runs?namespace={namespace:alice}             | /apis/v2beta1/runs                       | A run cannot have an empty namespace in multi-user mode            |
      | runs            | /apis/v2beta1/runs?namespace={namespace:alice}             | /apis/v2beta1/runs?namespace=-           | A run cannot have an empty namespace in multi-user mode            |
      | recurring runs  | /apis/v2beta1/recurringruns?namespace={namespace:alice}    | /apis/v2beta1/recurringruns              | a recurring run cannot have an empty namespace in multi-user mode  |
      | recurring runs  | /apis/v2beta1/recurringruns?namespace={namespace:alice}    | /apis/v2beta1/recurringruns?namespace=-  | a recurring run cannot have an empty namespace in multi-user mode  |

    Examples: v1beta1
      | what            | scoped                                                                                        | unscoped                                                                                      | message                                                            |
      | experiments     | /apis/v1beta1/experiments?resource_reference_key.type=NAMESPACE&resource_reference_key.id={namespace:alice} | /apis/v1beta1/experiments                                                     | An experiment cannot have an empty namespace in multi-user mode    |
      | runs            | /apis/v1beta1/runs?resource_reference_key.type=NAMESPACE&resource_reference_key.id={namespace:alice}        | /apis/v1beta1/runs                                                            | A run cannot have an empty namespace in multi-user mode            |
      | runs            | /apis/v1beta1/runs?resource_reference_key.type=EXPERIMENT&resource_reference_key.id={experiment:plans}      | /apis/v1beta1/runs?resource_reference_key.type=JOB&resource_reference_key.id={recurringrun:paused} | A run cannot have an empty namespace in multi-user mode |
      | recurring runs  | /apis/v1beta1/jobs?resource_reference_key.type=NAMESPACE&resource_reference_key.id={namespace:alice}        | /apis/v1beta1/jobs                                                            | a recurring run cannot have an empty namespace in multi-user mode  |

  Scenario: The v1beta1 experiment list takes its namespace from a NAMESPACE reference key
    When alice sends GET /apis/v1beta1/experiments?resource_reference_key.type=NAMESPACE&resource_reference_key.id={namespace:alice}
    Then the listed experiments are exactly "plans"
    When bob sends GET /apis/v1beta1/experiments?resource_reference_key.type=NAMESPACE&resource_reference_key.id={namespace:bob}
    Then the listed experiments are none
    When bob sends GET /apis/v1beta1/experiments?resource_reference_key.type=NAMESPACE&resource_reference_key.id={namespace:alice}
    Then the request is denied
    And the refusal names the namespace of alice

  Scenario Outline: The v1beta1 experiment list refuses a <type> reference key
    The message names the server's own name of the type (model.ResourceType), not the API's.
    When alice sends GET /apis/v1beta1/experiments?resource_reference_key.type=NAMESPACE&resource_reference_key.id={namespace:alice}
    Then the listed experiments are exactly "plans"
    When alice sends GET /apis/v1beta1/experiments?resource_reference_key.type=<type>&resource_reference_key.id=<id>
    Then the request fails with 400 "Failed to list v1beta1 experiment due to invalid resource reference key. It must be of type 'Namespace' and contain an existing or empty namespace, but you provided <id> of type <model type>"

    Examples:
      | type       | model type | id                    |
      | EXPERIMENT | Experiment | {experiment:plans}    |
      | JOB        | Job        | {recurringrun:paused} |

  Scenario Outline: The experiment, not the namespace parameter, decides where <what> are listed
    When bob lists <what> in bob
    Then the listed <what> are exactly nothing
    When alice sends GET <path>?experiment_id={experiment:plans}&namespace={namespace:bob}
    Then the listed <what> are exactly "<name>"
    When bob sends GET <path>?experiment_id={experiment:plans}&namespace={namespace:bob}
    Then the request is denied
    And the refusal names the namespace of alice

    Examples:
      | what           | path                        | name   |
      | runs           | /apis/v2beta1/runs          | r1     |
      | recurring runs | /apis/v2beta1/recurringruns | paused |
