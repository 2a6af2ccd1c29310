"""What the DMTF Redfish schemas (DSP8010) and the Base message registry
require of the resources vbmc serves, written down as data for the
integration tests (tests/integration/test_redfish.py), with a small checker.

No schema files are downloaded: the facts below (required properties,
types, which properties may be null, enumerations, patterns) are those of
the JSON schemas of DSP8010 for the versions vbmc declares, restricted to
the resources of docs/REDFISH.md.  validate(doc) returns a list of
problems (empty when the document conforms):

  * @odata.type is "#Ns.vX_Y_Z.Ns" for a resource ("#NsCollection.NsCollection"
    for a collection) and names a schema known here;
  * every property required by that schema is present;
  * every property is one the schema defines ("additionalProperties": false
    in the DMTF schemas), annotations excepted;
  * types, null only where the schema allows it, enumerations, patterns,
    minimum/maximum;
  * collections: Members@odata.count equals the number of Members, and
    every member's @odata.id lies under the collection's;
  * any "X@odata.count" equals len(X).

validate_error(body, message_id) checks a Redfish error body against
DSP0266 and the Base registry (Base.1.16.0: arguments and texts).
"""

import re
import xml.etree.ElementTree as ET

# ---------------------------------------------------------------- patterns

ANNOTATION = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)?@(odata|Redfish|Message)\.[A-Za-z_][A-Za-z0-9_.]+$")
RESOURCE_TYPE = re.compile(r"^#([A-Za-z][A-Za-z0-9]*)\.v(\d+)_(\d+)_(\d+)\.([A-Za-z][A-Za-z0-9]*)$")
COLLECTION_TYPE = re.compile(r"^#([A-Za-z][A-Za-z0-9]*Collection)\.([A-Za-z][A-Za-z0-9]*)$")
UUID = re.compile(r"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$")
ODATA_ID = re.compile(r"^/redfish/v1(/[^\s?#]*)?$")
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TZ_OFFSET = re.compile(r"^([-+][0-1][0-9]:[0-5][0-9])$")
MAC = re.compile(r"^([0-9A-Fa-f]{2}[:-]){5}([0-9A-Fa-f]{2})$")
VERSION3 = re.compile(r"^\d+\.\d+\.\d+$")
# error.code and MessageId: "Registry.Major.Minor[.Errata].Key" (DSP0266)
MESSAGE_ID = re.compile(r"^([A-Za-z0-9]+)\.(\d+)\.(\d+)(\.\d+)?\.([A-Za-z0-9]+)$")

# ---------------------------------------------------------------- enumerations

# Resource.PowerState
POWER_STATE = ["On", "Off", "PoweringOn", "PoweringOff", "Paused"]
# Resource.ResetType
RESET_TYPE = ["On", "ForceOff", "GracefulShutdown", "GracefulRestart", "ForceRestart", "Nmi",
              "ForceOn", "PushPowerButton", "PowerCycle", "Suspend", "Pause", "Resume",
              "FullPowerCycle"]
# Resource.State / Resource.Health
STATE = ["Enabled", "Disabled", "StandbyOffline", "StandbySpare", "InTest", "Starting", "Absent",
         "UnavailableOffline", "Deferring", "Quiesced", "Updating", "Qualified", "Degraded"]
HEALTH = ["OK", "Warning", "Critical"]
INDICATOR_LED = ["Unknown", "Lit", "Blinking", "Off"]
# ComputerSystem
SYSTEM_TYPE = ["Physical", "Virtual", "OS", "PhysicallyPartitioned", "VirtuallyPartitioned",
               "Composed", "DPU"]
BOOT_SOURCE = ["None", "Pxe", "Floppy", "Cd", "Usb", "Hdd", "BiosSetup", "Utilities", "Diags",
               "UefiShell", "UefiTarget", "SDCard", "UefiHttp", "RemoteDrive", "UefiBootNext",
               "Recovery"]
BOOT_ENABLED = ["Disabled", "Once", "Continuous"]
BOOT_MODE = ["Legacy", "UEFI"]
POWER_RESTORE_POLICY = ["AlwaysOn", "AlwaysOff", "LastState"]
HOSTING_ROLE = ["ApplicationServer", "StorageServer", "Switch", "Appliance", "BareMetalServer",
                "VirtualMachineServer", "ContainerServer"]
# Chassis
CHASSIS_TYPE = ["Rack", "Blade", "Enclosure", "StandAlone", "RackMount", "Card", "Cartridge",
                "Row", "Pod", "Expansion", "Sidecar", "Zone", "Sled", "Shelf", "Drawer",
                "Module", "Component", "IPBasedDrive", "RackGroup", "StorageEnclosure",
                "ImmersionTank", "HeatExchanger", "PowerStrip", "Other"]
ENVIRONMENTAL_CLASS = ["A1", "A2", "A3", "A4"]
# Manager
MANAGER_TYPE = ["ManagementController", "EnclosureManager", "BMC", "RackManager",
                "AuxiliaryController", "Service", "FabricManager"]
# Session
SESSION_TYPE = ["HostConsole", "ManagerConsole", "IPMI", "KVMIP", "OEM", "Redfish",
                "VirtualMedia", "WebUI", "OutboundConnection"]
# AccountService / ManagerAccount
LOCAL_ACCOUNT_AUTH = ["Enabled", "Disabled", "Fallback", "LocalFirst"]
ACCOUNT_TYPES = ["Redfish", "SNMP", "OEM", "HostConsole", "ManagerConsole", "IPMI", "KVMIP",
                 "VirtualMedia", "WebUI"]
# Privileges.PrivilegeType
PRIVILEGE_TYPE = ["Login", "ConfigureManager", "ConfigureUsers", "ConfigureSelf",
                  "ConfigureComponents", "NoAuth", "ConfigureCompositionInfrastructure",
                  "AdministrateSystems", "OperateSystems", "AdministrateStorage",
                  "OperateStorageBackup"]
# EthernetInterface
LINK_STATUS = ["LinkUp", "NoLink", "LinkDown"]
# Message
SEVERITY = ["OK", "Warning", "Critical"]

# Redfish predefined roles (DSP0266 "Roles") and their privileges.
ROLE_PRIVILEGES = {
    "Administrator": {"Login", "ConfigureManager", "ConfigureUsers", "ConfigureSelf",
                      "ConfigureComponents"},
    "Operator": {"Login", "ConfigureSelf", "ConfigureComponents"},
    "ReadOnly": {"Login", "ConfigureSelf"},
}


# ---------------------------------------------------------------- property types

class T:
    """The schema of one property.

    kind: string, integer, number, boolean, object, array, ref (a link
    object with @odata.id), any.  null: the schema allows null.  props:
    for objects, {name: T} (closed unless open=True); required: names that
    must be present.  items: for arrays, the T of every element.
    since: (major, minor, patch) of the schema version that added it."""

    def __init__(self, kind, *, null=False, enum=None, pattern=None, minimum=None, maximum=None,
                 props=None, required=(), items=None, open=False, since=None, must_be_null=False):
        self.kind = kind
        self.null = null or must_be_null
        self.enum = enum
        self.pattern = pattern
        self.minimum = minimum
        self.maximum = maximum
        self.props = props
        self.required = tuple(required)
        self.items = items
        self.open = open
        self.since = since
        self.must_be_null = must_be_null


def S(**kw):
    return T("string", **kw)


def Sn(**kw):
    return T("string", null=True, **kw)


def E(values, null=True, **kw):
    return T("string", enum=values, null=null, **kw)


def B(null=False, **kw):
    return T("boolean", null=null, **kw)


def I(null=False, minimum=None, **kw):  # noqa: E743
    return T("integer", null=null, minimum=minimum, **kw)


def N(null=False, minimum=None, **kw):
    return T("number", null=null, minimum=minimum, **kw)


REF = T("ref")


def REFS():
    return T("array", items=REF)


def OBJ(props=None, **kw):
    return T("object", props=props, **kw)


OPEN = T("object", open=True)
ANY = T("any")
STRINGS = T("array", items=S())

STATUS = OBJ({"State": E(STATE), "Health": E(HEALTH), "HealthRollup": E(HEALTH),
              "Oem": OPEN, "Conditions": T("array", items=OPEN)})


def ACTION():
    return OBJ({"target": S(pattern=ODATA_ID), "title": S()})


def ACTIONS(*names):
    props = {n: ACTION() for n in names}
    props["Oem"] = OPEN
    return OBJ(props)


LOCATION = OPEN  # Resource.Location: many optional sub-objects

# Every resource (Resource.v1.Resource) has these.
COMMON = {
    "@odata.id": S(pattern=ODATA_ID),
    "@odata.type": S(),
    "@odata.context": S(),
    "@odata.etag": S(),
    "Id": S(),
    "Name": S(),
    "Description": Sn(),
    "Oem": OPEN,
}
COMMON_REQUIRED = ("@odata.id", "@odata.type", "Id", "Name")


class Schema:
    def __init__(self, name, props, required=(), required_since=None):
        self.name = name
        self.props = dict(COMMON)
        self.props.update(props)
        self.required = COMMON_REQUIRED + tuple(required)
        # {(major, minor, patch): (names...)}: required from that version on
        self.required_since = dict(required_since or {})


def _protocol(**extra):
    props = {"ProtocolEnabled": B(null=True), "Port": I(null=True, minimum=0)}
    props.update(extra)
    return OBJ(props)


SCHEMAS = {}


def _add(schema):
    SCHEMAS[schema.name] = schema


_add(Schema("ServiceRoot", {
    "RedfishVersion": S(pattern=VERSION3),
    "UUID": Sn(pattern=UUID),
    "Product": Sn(since=(1, 3, 0)),
    "Vendor": Sn(since=(1, 5, 0)),
    "ServiceIdentification": S(),
    "ProtocolFeaturesSupported": OBJ({
        "ExpandQuery": OBJ({"ExpandAll": B(), "Levels": B(), "Links": B(), "MaxLevels": I(minimum=1),
                            "NoLinks": B()}),
        "FilterQuery": B(), "SelectQuery": B(), "OnlyMemberQuery": B(), "ExcerptQuery": B(),
        "TopSkipQuery": B(), "MultipleHTTPRequests": B(),
        "DeepOperations": OBJ({"DeepPATCH": B(), "DeepPOST": B(), "MaxLevels": I(minimum=1)}),
    }, since=(1, 3, 0)),
    "Systems": REF, "Chassis": REF, "Managers": REF, "SessionService": REF, "AccountService": REF,
    "EventService": REF, "Tasks": REF, "UpdateService": REF, "Registries": REF, "JsonSchemas": REF,
    "CertificateService": REF, "TelemetryService": REF, "Fabrics": REF, "StorageSystems": REF,
    "StorageServices": REF, "CompositionService": REF, "ResourceBlocks": REF, "JobService": REF,
    "PowerEquipment": REF, "Facilities": REF, "Storage": REF, "Cables": REF, "KeyService": REF,
    "AggregationService": REF, "NVMeDomains": REF, "RegisteredClients": REF,
    "ComponentIntegrity": REF, "ServiceConditions": REF, "LicenseService": REF,
    "ThermalEquipment": REF,
    "Links": OBJ({"Sessions": REF, "ManagerProvidingService": REF, "Oem": OPEN},
                 required=("Sessions",)),
}, required=("Links",)))

_add(Schema("ComputerSystem", {
    "AssetTag": Sn(), "BiosVersion": Sn(), "HostName": Sn(), "Manufacturer": Sn(), "Model": Sn(),
    "SKU": Sn(), "SerialNumber": Sn(), "PartNumber": Sn(), "SubModel": Sn(),
    "IndicatorLED": E(INDICATOR_LED), "LocationIndicatorActive": B(null=True),
    "PowerState": E(POWER_STATE),
    "SystemType": E(SYSTEM_TYPE, null=False),
    "UUID": Sn(pattern=UUID),
    "Status": STATUS,
    "LastResetTime": S(pattern=DATETIME),
    "PowerRestorePolicy": E(POWER_RESTORE_POLICY, null=False),
    "PowerOnDelaySeconds": N(null=True, minimum=0), "PowerOffDelaySeconds": N(null=True, minimum=0),
    "PowerCycleDelaySeconds": N(null=True, minimum=0),
    "HostingRoles": T("array", items=E(HOSTING_ROLE, null=False)),
    "Boot": OBJ({
        "BootSourceOverrideEnabled": E(BOOT_ENABLED),
        "BootSourceOverrideTarget": E(BOOT_SOURCE),
        "BootSourceOverrideMode": E(BOOT_MODE, since=(1, 1, 0)),
        "UefiTargetBootSourceOverride": Sn(),
        "BootNext": Sn(), "BootOrder": T("array", items=Sn()), "BootOptions": REF,
        "Certificates": REF, "HttpBootUri": Sn(),
        "AutomaticRetryConfig": E(["Disabled", "RetryAttempts", "RetryAlways"]),
        "AutomaticRetryAttempts": I(null=True, minimum=0),
        "RemainingAutomaticRetryAttempts": I(null=True, minimum=0),
        "AliasBootOrder": T("array", items=E(BOOT_SOURCE)),
        "BootOrderPropertySelection": E(["BootOrder", "AliasBootOrder"]),
        "StopBootOnFault": E(["Never", "AnyFault"]),
        "TrustedModuleRequiredToBoot": E(["Disabled", "Required"]),
    }),
    "MemorySummary": OBJ({
        "TotalSystemMemoryGiB": N(null=True, minimum=0),
        "TotalSystemPersistentMemoryGiB": N(null=True, minimum=0),
        "MemoryMirroring": E(["System", "DIMM", "Hybrid", "None"]),
        "Status": STATUS, "Metrics": REF,
    }),
    "ProcessorSummary": OBJ({
        "Count": I(null=True, minimum=0), "CoreCount": I(null=True, minimum=0),
        "LogicalProcessorCount": I(null=True, minimum=0), "Model": Sn(),
        "Status": STATUS, "Metrics": REF, "ThreadingEnabled": B(),
    }),
    "Links": OBJ({
        "Chassis": REFS(), "ManagedBy": REFS(), "PoweredBy": REFS(), "CooledBy": REFS(),
        "Endpoints": REFS(), "ResourceBlocks": REFS(), "ConsumingComputerSystems": REFS(),
        "SupplyingComputerSystems": REFS(), "HostingComputerSystem": REF,
        "TrustedComponents": REFS(), "OffloadedNetworkDeviceFunctions": REFS(), "Oem": OPEN,
    }),
    "Actions": ACTIONS("#ComputerSystem.Reset", "#ComputerSystem.SetDefaultBootOrder",
                       "#ComputerSystem.AddResourceBlock", "#ComputerSystem.RemoveResourceBlock",
                       "#ComputerSystem.Decommission"),
    "Processors": REF, "Memory": REF, "EthernetInterfaces": REF, "SimpleStorage": REF,
    "Storage": REF, "LogServices": REF, "Bios": REF, "SecureBoot": REF, "VirtualMedia": REF,
    "NetworkInterfaces": REF, "MemoryDomains": REF, "PCIeDevices": REFS(), "PCIeFunctions": REFS(),
    "FabricAdapters": REF, "GraphicsControllers": REF, "USBControllers": REF, "Certificates": REF,
    "TrustedModules": T("array", items=OPEN), "HostWatchdogTimer": OPEN, "SerialConsole": OPEN,
    "GraphicalConsole": OPEN, "VirtualMediaConfig": OPEN, "BootProgress": OPEN,
    "HostedServices": OPEN, "KeyManagement": OPEN, "IdlePowerSaver": OPEN, "PowerMode": Sn(),
    "ManufacturingMode": B(null=True), "Composition": OPEN, "OperatingSystem": REF,
    "Measurements": T("array", items=OPEN), "Redundancy": T("array", items=OPEN),
}))

_add(Schema("Chassis", {
    "ChassisType": E(CHASSIS_TYPE, null=False),
    "Manufacturer": Sn(), "Model": Sn(), "SKU": Sn(), "SerialNumber": Sn(), "PartNumber": Sn(),
    "AssetTag": Sn(), "Version": Sn(), "SparePartNumber": Sn(), "UUID": Sn(pattern=UUID),
    "IndicatorLED": E(INDICATOR_LED), "LocationIndicatorActive": B(null=True),
    "PowerState": E(POWER_STATE),
    "Status": STATUS, "Location": LOCATION,
    "HeightMm": N(null=True, minimum=0), "WidthMm": N(null=True, minimum=0),
    "DepthMm": N(null=True, minimum=0), "WeightKg": N(null=True, minimum=0),
    "EnvironmentalClass": E(ENVIRONMENTAL_CLASS),
    "HotPluggable": B(null=True), "Replaceable": B(null=True),
    "MaxPowerWatts": N(null=True), "MinPowerWatts": N(null=True),
    "PhysicalSecurity": OPEN, "ThermalDirection": Sn(), "PoweredByParent": B(null=True),
    "ThermalManagedByParent": B(null=True), "ElectricalSourceManagerURIs": STRINGS,
    "ElectricalSourceNames": STRINGS, "Doors": OPEN, "Measurements": T("array", items=OPEN),
    "Links": OBJ({
        "ComputerSystems": REFS(), "ManagedBy": REFS(), "ContainedBy": REF, "Contains": REFS(),
        "CooledBy": REFS(), "PoweredBy": REFS(), "ResourceBlocks": REFS(), "Storage": REFS(),
        "Drives": REFS(), "ManagersInChassis": REFS(), "PCIeDevices": REFS(), "Switches": REFS(),
        "Processors": REFS(), "Facility": REF, "Fans": REFS(), "PowerSupplies": REFS(),
        "PowerOutlets": REFS(), "Cables": REFS(), "Oem": OPEN,
    }),
    "Actions": ACTIONS("#Chassis.Reset"),
    "Thermal": REF, "Power": REF, "PowerSubsystem": REF, "ThermalSubsystem": REF, "Sensors": REF,
    "NetworkAdapters": REF, "LogServices": REF, "PCIeDevices": REF, "PCIeSlots": REF, "Memory": REF,
    "MemoryDomains": REF, "Drives": REF, "Controls": REF, "Assembly": REF, "Certificates": REF,
    "MediaControllers": REF, "TrustedComponents": REF, "EnvironmentMetrics": REF,
    "FabricAdapters": REF,
}, required=("ChassisType",)))

_add(Schema("Manager", {
    "ManagerType": E(MANAGER_TYPE, null=False),
    "FirmwareVersion": Sn(), "Model": Sn(), "Manufacturer": Sn(), "PartNumber": Sn(),
    "SerialNumber": Sn(), "SparePartNumber": Sn(), "Version": Sn(),
    "UUID": Sn(pattern=UUID), "ServiceEntryPointUUID": Sn(pattern=UUID),
    "DateTime": Sn(pattern=DATETIME), "DateTimeLocalOffset": Sn(pattern=TZ_OFFSET),
    "TimeZoneName": S(), "AutoDSTEnabled": B(),
    "PowerState": E(POWER_STATE), "Status": STATUS, "Location": LOCATION,
    "LocationIndicatorActive": B(null=True), "LastResetTime": S(pattern=DATETIME),
    "ServiceIdentification": S(),
    "Links": OBJ({
        "ManagerForServers": REFS(), "ManagerForChassis": REFS(), "ManagerInChassis": REF,
        "ManagerForSwitches": REFS(), "ManagerForManagers": REFS(), "ManagedBy": REFS(),
        "ActiveSoftwareImage": REF, "SoftwareImages": REFS(), "SelectedNetworkPort": REF,
        "Oem": OPEN,
    }),
    "Actions": ACTIONS("#Manager.Reset", "#Manager.ResetToDefaults", "#Manager.ForceFailover",
                       "#Manager.ModifyRedundancySet"),
    "NetworkProtocol": REF, "EthernetInterfaces": REF, "HostInterfaces": REF,
    "SerialInterfaces": REF, "LogServices": REF, "VirtualMedia": REF, "Certificates": REF,
    "SecurityPolicy": REF, "USBPorts": REF, "DedicatedNetworkPorts": REF, "SharedNetworkPorts": REF,
    "RemoteAccountService": REF, "ManagerDiagnosticData": REF, "RemoteRedfishServiceUri": Sn(),
    "SerialConsole": OPEN, "CommandShell": OPEN, "GraphicalConsole": OPEN,
    "AdditionalFirmwareVersions": OPEN, "Measurements": T("array", items=OPEN),
    "Redundancy": T("array", items=OPEN),
}))

_add(Schema("ManagerNetworkProtocol", {
    "HostName": Sn(), "FQDN": Sn(), "Status": STATUS,
    "HTTP": _protocol(), "HTTPS": _protocol(Certificates=REF), "IPMI": _protocol(),
    "SSH": _protocol(), "SNMP": OPEN, "VirtualMedia": _protocol(), "SSDP": OPEN,
    "Telnet": _protocol(), "KVMIP": _protocol(), "NTP": OPEN, "DHCP": OPEN, "DHCPv6": OPEN,
    "RDP": _protocol(), "RFB": _protocol(), "Proxy": OPEN, "Modbus": OPEN,
    "Actions": ACTIONS(),
}))

_add(Schema("SessionService", {
    "ServiceEnabled": B(null=True),
    "SessionTimeout": N(minimum=30, maximum=86400),
    "Sessions": REF, "Status": STATUS, "Actions": ACTIONS(),
}))

_add(Schema("Session", {
    "UserName": Sn(),
    "Password": Sn(must_be_null=True),      # "shall be null in responses"
    "Token": Sn(must_be_null=True, since=(1, 6, 0)),
    "SessionType": E(SESSION_TYPE, null=False, since=(1, 2, 0)),
    "OemSessionType": S(),
    "ClientOriginIPAddress": Sn(since=(1, 3, 0)),
    "CreatedTime": S(pattern=DATETIME, since=(1, 4, 0)),
    "Context": Sn(),
    "Roles": STRINGS,
    "Actions": ACTIONS(),
}))

_add(Schema("AccountService", {
    "ServiceEnabled": B(null=True),
    "AuthFailureLoggingThreshold": I(minimum=0),
    "MinPasswordLength": I(minimum=0), "MaxPasswordLength": I(minimum=0),
    "AccountLockoutThreshold": I(null=True, minimum=0),
    "AccountLockoutDuration": I(null=True, minimum=0),
    "AccountLockoutCounterResetAfter": I(minimum=0),
    "AccountLockoutCounterResetEnabled": B(),
    "PasswordExpirationDays": I(null=True),
    "LocalAccountAuth": E(LOCAL_ACCOUNT_AUTH, null=False),
    "Accounts": REF, "Roles": REF, "PrivilegeMap": REF, "AdditionalExternalAccountProviders": REF,
    "LDAP": OPEN, "ActiveDirectory": OPEN, "MultiFactorAuth": OPEN, "OAuth2": OPEN,
    "TACACSplus": OPEN,
    "SupportedAccountTypes": T("array", items=E(ACCOUNT_TYPES, null=False)),
    "SupportedOEMAccountTypes": STRINGS,
    "RestrictedPrivileges": T("array", items=E(PRIVILEGE_TYPE, null=False)),
    "RestrictedOemPrivileges": STRINGS,
    "Status": STATUS, "Actions": ACTIONS(),
}))

_add(Schema("ManagerAccount", {
    "UserName": S(),
    "Password": Sn(must_be_null=True),      # "shall be null in responses"
    "RoleId": S(),
    "Enabled": B(), "Locked": B(),
    "AccountTypes": T("array", items=E(ACCOUNT_TYPES, null=False), since=(1, 4, 0)),
    "OEMAccountTypes": STRINGS,
    "PasswordChangeRequired": B(null=True),
    "PasswordExpiration": Sn(pattern=DATETIME),
    "AccountExpiration": Sn(pattern=DATETIME),
    "Certificates": REF, "Keys": REF, "SNMP": OPEN, "HostBootstrapAccount": B(),
    "StrictAccountTypes": B(null=True), "EmailAddress": Sn(), "PhoneNumber": Sn(),
    "MFABypass": OPEN, "OneTimePasscodeDeliveryAddress": Sn(),
    "Links": OBJ({"Role": REF, "Oem": OPEN}),
    "Actions": ACTIONS("#ManagerAccount.ChangePassword"),
}, required_since={(1, 4, 0): ("AccountTypes",)}))

_add(Schema("Role", {
    "RoleId": S(since=(1, 2, 0)),
    "IsPredefined": B(),
    "AssignedPrivileges": T("array", items=E(PRIVILEGE_TYPE, null=False)),
    "OemPrivileges": STRINGS,
    "AlternateRoleId": S(), "Restricted": B(),
    "Actions": ACTIONS(),
}, required_since={(1, 2, 0): ("RoleId",)}))

_add(Schema("EthernetInterface", {
    "MACAddress": Sn(pattern=MAC), "PermanentMACAddress": Sn(pattern=MAC),
    "LinkStatus": E(LINK_STATUS), "InterfaceEnabled": B(null=True),
    "SpeedMbps": I(null=True, minimum=0), "FullDuplex": B(null=True), "AutoNeg": B(null=True),
    "MTUSize": I(null=True), "HostName": Sn(), "FQDN": Sn(), "Status": STATUS,
    "IPv4Addresses": T("array", items=OPEN), "IPv6Addresses": T("array", items=OPEN),
    "IPv4StaticAddresses": T("array", items=OPEN), "IPv6StaticAddresses": T("array", items=OPEN),
    "IPv6AddressPolicyTable": T("array", items=OPEN), "IPv6DefaultGateway": Sn(),
    "MaxIPv6StaticAddresses": I(null=True), "NameServers": STRINGS, "StaticNameServers": STRINGS,
    "DHCPv4": OPEN, "DHCPv6": OPEN, "StatelessAddressAutoConfig": OPEN, "VLAN": OPEN,
    "VLANs": REF, "UefiDevicePath": Sn(), "EthernetInterfaceType": Sn(),
    "Links": OBJ({
        "Chassis": REF,  # one link here, not an array
        "Endpoints": REFS(), "HostInterface": REF, "NetworkDeviceFunction": REF,
        "NetworkDeviceFunctions": REFS(), "Ports": REFS(), "RelatedInterfaces": REFS(),
        "AffiliatedInterfaces": REFS(), "Oem": OPEN,
    }),
    "Actions": ACTIONS(),
}))

COLLECTION_PROPS = {
    "@odata.id": S(pattern=ODATA_ID), "@odata.type": S(), "@odata.context": S(),
    "@odata.etag": S(), "Name": S(), "Description": Sn(), "Oem": OPEN,
    "Members": REFS(), "Members@odata.count": I(minimum=0), "Members@odata.nextLink": S(),
}
COLLECTION_REQUIRED = ("@odata.id", "@odata.type", "Members", "Members@odata.count", "Name")
# Collection name -> the resource type of its members.
COLLECTIONS = {
    "ComputerSystemCollection": "ComputerSystem",
    "ChassisCollection": "Chassis",
    "ManagerCollection": "Manager",
    "SessionCollection": "Session",
    "ManagerAccountCollection": "ManagerAccount",
    "RoleCollection": "Role",
    "EthernetInterfaceCollection": "EthernetInterface",
}


# ---------------------------------------------------------------- the checker

def parse_type(odata_type):
    """'#ComputerSystem.v1_20_0.ComputerSystem' -> ('ComputerSystem', (1, 20, 0));
    '#ChassisCollection.ChassisCollection' -> ('ChassisCollection', None);
    None when malformed."""
    if not isinstance(odata_type, str):
        return None
    m = RESOURCE_TYPE.match(odata_type)
    if m:
        if m.group(1) != m.group(5):
            return None
        return m.group(1), (int(m.group(2)), int(m.group(3)), int(m.group(4)))
    m = COLLECTION_TYPE.match(odata_type)
    if m and m.group(1) == m.group(2):
        return m.group(1), None
    return None


def _type_ok(t, v):
    if t.kind == "any":
        return True
    if t.kind == "string":
        return isinstance(v, str)
    if t.kind == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if t.kind == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if t.kind == "boolean":
        return isinstance(v, bool)
    if t.kind in ("object", "ref"):
        return isinstance(v, dict)
    if t.kind == "array":
        return isinstance(v, list)
    raise ValueError(t.kind)


def _check(t, v, where, version, errs):
    if t.since and version is not None and version < t.since:
        errs.append(f"{where}: added in v{'_'.join(map(str, t.since))}, "
                    f"not in the declared v{'_'.join(map(str, version))}")
    if v is None:
        if not t.null:
            errs.append(f"{where}: null where the schema does not allow null")
        return
    if t.must_be_null:
        errs.append(f"{where}: must be null in responses, got {v!r}")
        return
    if not _type_ok(t, v):
        errs.append(f"{where}: {v!r} is not of type {t.kind}")
        return
    if t.enum is not None and v not in t.enum:
        errs.append(f"{where}: {v!r} is not one of {t.enum}")
    if t.pattern is not None and not t.pattern.match(v):
        errs.append(f"{where}: {v!r} does not match {t.pattern.pattern}")
    if t.minimum is not None and v < t.minimum:
        errs.append(f"{where}: {v!r} is below the minimum {t.minimum}")
    if t.maximum is not None and v > t.maximum:
        errs.append(f"{where}: {v!r} is above the maximum {t.maximum}")
    if t.kind == "ref":
        _check_ref(v, where, errs)
    elif t.kind == "array":
        for i, item in enumerate(v):
            if t.items is not None:
                _check(t.items, item, f"{where}[{i}]", version, errs)
    elif t.kind == "object" and t.props is not None:
        _check_object(t.props, t.required, t.open, v, where, version, errs)


def _check_ref(v, where, errs):
    if set(v) - {"@odata.id"} - {k for k in v if ANNOTATION.match(k)}:
        errs.append(f"{where}: a link holds only @odata.id, got {sorted(v)}")
    oid = v.get("@odata.id")
    if not isinstance(oid, str) or not ODATA_ID.match(oid):
        errs.append(f"{where}: link without a valid @odata.id: {v!r}")


def _check_object(props, required, is_open, obj, where, version, errs):
    for name in required:
        if name not in obj:
            errs.append(f"{where}: required property {name} missing")
    for k, v in obj.items():
        path = f"{where}/{k}"
        if k in props:
            _check(props[k], v, path, version, errs)
        elif ANNOTATION.match(k):
            _check_annotation(obj, k, v, path, errs)
        elif not is_open:
            errs.append(f"{path}: not a property of this schema")


def _check_annotation(obj, k, v, where, errs):
    prop, _, term = k.partition("@")
    if term == "odata.count":
        if not isinstance(v, int) or isinstance(v, bool):
            errs.append(f"{where}: {v!r} is not an integer")
        elif prop and isinstance(obj.get(prop), list) and len(obj[prop]) != v:
            errs.append(f"{where}: {v} but {prop} has {len(obj[prop])} entries")
        elif prop and prop not in obj:
            errs.append(f"{where}: count of an absent property {prop}")
    elif term == "Redfish.AllowableValues":
        if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
            errs.append(f"{where}: not an array of strings: {v!r}")
    elif term == "odata.id" and prop == "":
        if not isinstance(v, str) or not ODATA_ID.match(v):
            errs.append(f"{where}: {v!r} is not a Redfish URI")


def validate(doc, uri=None):
    """Problems of a resource or collection document (a list of strings)."""
    errs = []
    if not isinstance(doc, dict):
        return [f"{uri}: not a JSON object"]
    odata_type = doc.get("@odata.type")
    parsed = parse_type(odata_type)
    if parsed is None:
        return [f"{uri}: malformed or missing @odata.type {odata_type!r}"]
    name, version = parsed
    where = uri or doc.get("@odata.id", "?")
    if version is None:
        if name not in COLLECTIONS:
            return [f"{where}: collection type {name} unknown to these tests"]
        _check_object(COLLECTION_PROPS, COLLECTION_REQUIRED, False, doc, where, None, errs)
        members = doc.get("Members")
        if isinstance(members, list) and doc.get("Members@odata.count") != len(members):
            errs.append(f"{where}: Members@odata.count {doc.get('Members@odata.count')!r} "
                        f"but {len(members)} Members")
        coll = doc.get("@odata.id", "")
        for i, m in enumerate(doc.get("Members") or []):
            mid = m.get("@odata.id", "") if isinstance(m, dict) else ""
            if not mid.startswith(coll.rstrip("/") + "/"):
                errs.append(f"{where}/Members[{i}]: {mid!r} is not under {coll!r}")
        return errs
    schema = SCHEMAS.get(name)
    if schema is None:
        return [f"{where}: resource type {name} unknown to these tests"]
    required = list(schema.required)
    for since, names in schema.required_since.items():
        if version >= since:
            required += names
    _check_object(schema.props, required, False, doc, where, version, errs)
    return errs


# ---------------------------------------------------------------- Base registry

# Base.1.16.0: MessageId -> (number of MessageArgs, MessageSeverity, Message).
BASE_MESSAGES = {
    "Success": (0, "OK", "The request completed successfully."),
    "Created": (0, "OK", "The resource has been created successfully."),
    "GeneralError": (0, "Critical", None),
    "NoOperation": (0, "Warning", "The request body submitted contain no data to act upon and "
                    "no changes to the resource took place."),
    "PropertyDuplicate": (1, "Warning", "The property %1 was duplicated in the request."),
    "PropertyUnknown": (1, "Warning", "The property %1 is not in the list of valid properties "
                        "for the resource."),
    "PropertyValueTypeError": (2, "Warning", "The value '%1' for the property %2 is of a "
                               "different type than the property can accept."),
    "PropertyValueFormatError": (2, "Warning", "The value '%1' for the property %2 is of a "
                                 "different format than the property can accept."),
    "PropertyValueNotInList": (2, "Warning", "The value '%1' for the property %2 is not in the "
                               "list of acceptable values."),
    "PropertyValueOutOfRange": (2, "Warning", "The value '%1' for the property %2 is not in the "
                                "supported range of acceptable values."),
    "PropertyValueError": (1, "Warning", "The value provided for the property %1 is not valid."),
    "PropertyNotWritable": (1, "Warning", "The property %1 is a read only property and cannot "
                            "be assigned a value."),
    "PropertyMissing": (1, "Warning", "The property %1 is a required property and must be "
                        "included in the request."),
    "PropertyValueConflict": (2, "Warning", "The property '%1' could not be written because its "
                              "value would conflict with the value of the '%2' property."),
    "MalformedJSON": (0, "Critical", "The request body submitted was malformed JSON and could "
                      "not be parsed by the receiving service."),
    "InvalidJSON": (1, "Critical", None),
    "EmptyJSON": (0, "Warning", "The request body submitted contained an empty JSON object and "
                  "the service is unable to process it."),
    "UnrecognizedRequestBody": (0, "Warning", "The service detected a malformed request body "
                                "that it was unable to interpret."),
    "ActionNotSupported": (1, "Critical", "The action %1 is not supported by the resource."),
    "ActionParameterMissing": (2, "Critical", "The action %1 requires the parameter %2 to be "
                               "present in the request body."),
    "ActionParameterDuplicate": (2, "Warning", None),
    "ActionParameterUnknown": (2, "Warning", "The action %1 was submitted with the invalid "
                               "parameter %2."),
    "ActionParameterValueTypeError": (3, "Warning", "The value '%1' for the parameter %2 in the "
                                      "action %3 is of a different type than the parameter can "
                                      "accept."),
    "ActionParameterValueFormatError": (3, "Warning", None),
    "ActionParameterValueNotInList": (3, "Warning", "The value '%1' for the parameter %2 in the "
                                      "action %3 is not in the list of acceptable values."),
    "ActionParameterValueError": (2, "Warning", "The value for the parameter %1 in the action %2 "
                                  "is invalid."),
    "ActionParameterNotSupported": (2, "Warning", None),
    "ActionParameterValueConflict": (2, "Warning", None),
    "QueryNotSupported": (0, "Warning", "Querying is not supported by the implementation."),
    "QueryNotSupportedOnResource": (0, "Warning", None),
    "QueryParameterUnsupported": (1, "Warning", "Query parameter '%1' is not supported."),
    "SessionLimitExceeded": (0, "Critical", "The session establishment failed due to the number "
                             "of simultaneous sessions exceeding the limit of the "
                             "implementation."),
    "ResourceCannotBeDeleted": (0, "Critical", "The delete request failed because the resource "
                                "requested cannot be deleted."),
    "ResourceInUse": (0, "Warning", "The change to the requested resource failed because the "
                      "resource is in use or in transition."),
    "ResourceAlreadyExists": (3, "Critical", None),
    "ResourceNotFound": (2, "Critical", "The requested resource of type %1 named '%2' was not "
                         "found."),
    "PayloadTooLarge": (0, "Critical", "The supplied payload exceeds the maximum size supported "
                        "by the service."),
    "InsufficientStorage": (0, "Critical", None),
    "InvalidURI": (1, "Critical", "The URI %1 was not found."),
    "CreateFailedMissingReqProperties": (1, "Critical", "The create operation failed because the "
                                         "required property %1 was missing from the request."),
    "CreateLimitReachedForResource": (0, "Critical", "The create operation failed because the "
                                      "resource has reached the limit of possible resources."),
    "ServiceShuttingDown": (0, "Critical", None),
    "ServiceInUnknownState": (0, "Critical", None),
    "NoValidSession": (0, "Critical", "There is no valid session established with the "
                       "implementation."),
    "InsufficientPrivilege": (0, "Critical", "There are insufficient privileges for the account "
                              "or credentials associated with the current session to perform "
                              "the requested operation."),
    "InternalError": (0, "Critical", "The request failed due to an internal service error.  The "
                      "service is still operational."),
    "ServiceTemporarilyUnavailable": (1, "Critical", "The service is temporarily unavailable.  "
                                      "Retry in %1 seconds."),
    "ResourceInStandby": (0, "Critical", "The request could not be performed because the "
                          "resource is in standby."),
    "ResourceExhaustion": (1, "Critical", None),
    "SessionTerminated": (0, "OK", "The session was successfully terminated."),
    "ResetRequired": (2, "Warning", None),
    "ChassisPowerStateOnRequired": (1, "Warning", "The chassis with Id '%1' requires to be "
                                    "powered on to perform this request."),
    "ChassisPowerStateOffRequired": (1, "Warning", "The Chassis with Id '%1' requires to be "
                                     "powered off to perform this request."),
    "PreconditionFailed": (0, "Critical", "The ETag supplied did not match the ETag required to "
                           "change this resource."),
    "PreconditionRequired": (0, "Critical", "A precondition header or annotation is required to "
                             "change this resource."),
    "HeaderMissing": (1, "Critical", "Required header '%1' is missing in the request."),
    "HeaderInvalid": (1, "Critical", "Header '%1' is invalid."),
    "OperationFailed": (0, "Warning", None),
    "OperationTimeout": (0, "Warning", None),
    "OperationNotAllowed": (0, "Critical", "The HTTP method is not allowed on this resource."),
    "AccessDenied": (1, "Critical", None),
}

MESSAGE_PROPS = {
    "@odata.type": S(pattern=re.compile(r"^#Message\.v1_\d+_\d+\.Message$")),
    "MessageId": S(pattern=MESSAGE_ID),
    "Message": S(),
    "MessageArgs": STRINGS,
    "Severity": E(SEVERITY, null=False),
    "MessageSeverity": E(SEVERITY, null=False, since=(1, 1, 0)),
    "Resolution": S(),
    "RelatedProperties": STRINGS,
    "Oem": OPEN,
    "MessageCode": S(), "UserAuthenticationSource": S(), "ResolutionSteps": T("array", items=OPEN),
}


def check_message(msg, where="message"):
    """Problems of one Message object (an entry of @Message.ExtendedInfo)."""
    errs = []
    if not isinstance(msg, dict):
        return [f"{where}: not an object"]
    version = None
    parsed = parse_type(msg.get("@odata.type"))
    if parsed and parsed[0] == "Message":
        version = parsed[1]
    _check_object(MESSAGE_PROPS, ("MessageId",), False, msg, where, version, errs)
    m = MESSAGE_ID.match(msg.get("MessageId") or "")
    if not m:
        return errs
    registry, key = m.group(1), m.group(5)
    if registry != "Base":
        return errs
    if key not in BASE_MESSAGES:
        errs.append(f"{where}: {key} is not a Base registry message")
        return errs
    nargs, severity, text = BASE_MESSAGES[key]
    args = msg.get("MessageArgs", [])
    if len(args) != nargs:
        errs.append(f"{where}: {key} takes {nargs} MessageArgs, got {args!r}")
    for sev in ("MessageSeverity", "Severity"):
        if sev in msg and msg[sev] != severity:
            errs.append(f"{where}: {sev} {msg[sev]!r}, the registry says {severity!r}")
    if text is not None and "Message" in msg and len(args) == nargs:
        want = text
        for i in range(nargs, 0, -1):
            want = want.replace(f"%{i}", str(args[i - 1]))
        if msg["Message"] != want:
            errs.append(f"{where}: Message {msg['Message']!r}, the registry's text is {want!r}")
    return errs


def validate_error(body, message_id=None):
    """Problems of a Redfish error body; message_id: the Base MessageId the
    error (or one of its extended messages) must carry."""
    errs = []
    if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(body["error"], dict):
        return [f"not an error body: {body!r}"]
    err = body["error"]
    for k in ("code", "message"):
        if not isinstance(err.get(k), str):
            errs.append(f"error.{k} missing or not a string")
    m = MESSAGE_ID.match(err.get("code") or "")
    if not m:
        errs.append(f"error.code {err.get('code')!r} is not a MessageId")
    elif m.group(1) == "Base" and m.group(5) not in BASE_MESSAGES:
        errs.append(f"error.code {err['code']!r}: not a Base registry message")
    info = err.get("@Message.ExtendedInfo")
    if not isinstance(info, list) or not info:
        errs.append("error.@Message.ExtendedInfo missing or empty")
        info = []
    for i, msg in enumerate(info):
        errs += check_message(msg, f"error/@Message.ExtendedInfo[{i}]")
    for k in err:
        if k not in ("code", "message", "@Message.ExtendedInfo") and not ANNOTATION.match(k):
            errs.append(f"error.{k}: not a property of the error object")
    if message_id is not None:
        keys = []
        if m:
            keys.append(m.group(5))
        for msg in info:
            mm = MESSAGE_ID.match(msg.get("MessageId") or "") if isinstance(msg, dict) else None
            if mm:
                keys.append(mm.group(5))
        if message_id not in keys:
            errs.append(f"expected MessageId {message_id}, the body has {keys}")
    return errs


def message_keys(body):
    """The MessageId keys (e.g. 'ResourceNotFound') of an error body."""
    keys = []
    err = body.get("error", {}) if isinstance(body, dict) else {}
    for mid in [err.get("code")] + [x.get("MessageId") for x in err.get("@Message.ExtendedInfo", [])
                                    if isinstance(x, dict)]:
        m = MESSAGE_ID.match(mid or "")
        if m:
            keys.append(m.group(5))
    return keys


# ---------------------------------------------------------------- CSDL and OData

EDMX = "http://docs.oasis-open.org/odata/ns/edmx"
EDM = "http://docs.oasis-open.org/odata/ns/edm"


def validate_metadata(xml_text, namespaces=()):
    """Problems of a $metadata document (OData CSDL 4.0, as DSP0266 wants
    it); namespaces: schema namespaces (e.g. 'ComputerSystem.v1_20_0') it
    must include by reference."""
    errs = []
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as e:
        return [f"$metadata is not XML: {e}"]
    if root.tag != f"{{{EDMX}}}Edmx":
        errs.append(f"root element {root.tag}, not edmx:Edmx")
    if root.get("Version") != "4.0":
        errs.append(f"edmx:Edmx Version {root.get('Version')!r}, not '4.0'")
    included = {}
    for ref in root.findall(f"{{{EDMX}}}Reference"):
        uri = ref.get("Uri") or ""
        if not uri:
            errs.append("edmx:Reference without Uri")
        for inc in ref.findall(f"{{{EDMX}}}Include"):
            ns = inc.get("Namespace")
            if not ns:
                errs.append(f"edmx:Include without Namespace in {uri}")
                continue
            included[ns] = uri
    for ns in namespaces:
        if ns not in included:
            errs.append(f"$metadata does not include namespace {ns}")
        else:
            base = ns.split(".")[0]
            if f"/{base}_v1.xml" not in included[ns] and not included[ns].endswith(f"{base}_v1.xml"):
                errs.append(f"namespace {ns} included from {included[ns]}, not {base}_v1.xml")
    if root.find(f"{{{EDMX}}}DataServices") is None:
        errs.append("no edmx:DataServices")
    else:
        containers = root.findall(f".//{{{EDM}}}EntityContainer")
        if len(containers) != 1:
            errs.append(f"{len(containers)} EntityContainers, DSP0266 wants exactly one")
    return errs


def validate_service_document(doc):
    """Problems of the OData service document at /redfish/v1/odata; returns
    (errors, {name: url})."""
    errs, urls = [], {}
    if not isinstance(doc, dict):
        return ["odata: not a JSON object"], urls
    if doc.get("@odata.context") != "/redfish/v1/$metadata":
        errs.append(f"odata: @odata.context {doc.get('@odata.context')!r}")
    value = doc.get("value")
    if not isinstance(value, list) or not value:
        return errs + ["odata: 'value' missing or empty"], urls
    for i, v in enumerate(value):
        if not isinstance(v, dict) or not isinstance(v.get("name"), str) \
                or not isinstance(v.get("url"), str):
            errs.append(f"odata value[{i}]: needs name and url: {v!r}")
            continue
        if v.get("kind", "EntitySet") not in ("Singleton", "EntitySet"):
            errs.append(f"odata value[{i}]: kind {v.get('kind')!r}")
        urls[v["name"]] = v["url"]
    if urls.get("Service") not in ("/redfish/v1/", "/redfish/v1"):
        errs.append(f"odata: the Service entry is {urls.get('Service')!r}")
    return errs, urls
